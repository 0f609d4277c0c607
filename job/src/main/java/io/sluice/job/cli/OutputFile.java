package io.sluice.job.cli;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Checks an output path before the work that ends in writing it, so a path that cannot be written is a
 * one-line usage error (exit 2) at once, not a stack trace after the work (minutes of it for {@code profile}).
 */
final class OutputFile {

    private OutputFile() {}

    /**
     * @param createsFolders whether the writer creates missing folders above the file (then the nearest
     *     existing one must be a writable folder), else the file's folder must exist
     */
    static void check(String option, Path out, boolean createsFolders) {
        Path file = out.toAbsolutePath();
        if (Files.isDirectory(file)) {
            throw new IllegalArgumentException(option + " " + out + ": is a folder, not a file");
        }
        Path folder = file.getParent();
        if (createsFolders) {
            while (folder != null && !Files.exists(folder)) {
                folder = folder.getParent();
            }
        }
        if (folder == null || !Files.isDirectory(folder)) {
            throw new IllegalArgumentException(option + " " + out + ": "
                    + (folder != null && Files.exists(folder) ? folder + " is not a folder" : "no such folder"));
        }
        if (!Files.isWritable(folder)) {
            throw new IllegalArgumentException(option + " " + out + ": folder " + folder + " is not writable");
        }
    }
}
