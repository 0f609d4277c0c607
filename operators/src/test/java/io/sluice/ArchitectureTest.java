package io.sluice;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.ArchConfiguration;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The layering rules of DESIGN.md, checked on the compiled classes: arrows point one way. */
class ArchitectureTest {

    private static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        // The rules only look at which packages io.sluice classes reference; resolving every
        // referenced Flink class from the classpath would add seconds and change nothing.
        ArchConfiguration config = ArchConfiguration.get();
        boolean resolve = config.resolveMissingDependenciesFromClassPath();
        config.setResolveMissingDependenciesFromClassPath(false);
        try {
            classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                    .importPackages("io.sluice");
        } finally {
            config.setResolveMissingDependenciesFromClassPath(resolve);
        }
    }

    @Test
    void schedulingIsPlainJava() {
        noClasses().that().resideInAPackage("io.sluice.scheduling..")
                .should().dependOnClassesThat().resideInAnyPackage("org.apache.flink..", "io.sluice.operators..", "io.sluice.job..")
                .because("the simulator and the Flink operators run the same policy objects; the policies stay plain Java")
                .check(classes);
    }

    @Test
    void gpuDependsOnNothingAbove() {
        noClasses().that().resideInAPackage("io.sluice.gpu..")
                .should().dependOnClassesThat().resideInAnyPackage("io.sluice.scheduling..", "io.sluice.operators..", "io.sluice.job..")
                .allowEmptyShould(true)
                .because("module arrows point one way: job -> operators -> gpu")
                .check(classes);
    }
}
