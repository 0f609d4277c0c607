package io.sluice;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/** The layering rules of DESIGN.md, checked on the compiled classes: arrows point one way. */
@AnalyzeClasses(packages = "io.sluice", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {

    @ArchTest
    static final ArchRule schedulingHasNoFlink = noClasses()
            .that().resideInAPackage("io.sluice.scheduling..")
            .should().dependOnClassesThat().resideInAnyPackage("org.apache.flink..", "io.sluice.operators..", "io.sluice.job..")
            .because("the simulator and the Flink operators run the same policy objects; the policies stay plain Java");

    @ArchTest
    static final ArchRule gpuDependsOnNothingAbove = noClasses()
            .that().resideInAPackage("io.sluice.gpu..")
            .should().dependOnClassesThat().resideInAnyPackage("io.sluice.scheduling..", "io.sluice.operators..", "io.sluice.job..")
            .allowEmptyShould(true)
            .because("module arrows point one way: job -> operators -> gpu");
}
