package grokkit.cli;

import picocli.CommandLine.IVersionProvider;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * {@code grok --version}: grok-kit's version and commit (recorded at build time in
 * grok-kit-build.properties), the JDK, and the Vector API width the kernels run with.
 */
public final class VersionInfo implements IVersionProvider {
    static final String RESOURCE = "/grok-kit-build.properties";

    @Override
    public String[] getVersion() {
        return new String[]{"grok-kit " + version() + " (commit " + commit() + ")",
                "Java " + System.getProperty("java.runtime.version") + " (" + System.getProperty("java.vendor") + "), "
                        + System.getProperty("os.name") + " " + System.getProperty("os.arch") + ", "
                        + Runtime.getRuntime().availableProcessors() + " processors",
                "Vector API: " + vectorWidth()};
    }

    /** The version, e.g. 0.1.0-SNAPSHOT. */
    public static String version() {
        return build().getProperty("version", "unknown");
    }

    /** The commit the jar was built from (abbreviated, "+dirty" for uncommitted changes), or "unknown". */
    public static String commit() {
        String c = build().getProperty("commit", "").trim();
        return c.isEmpty() || c.startsWith("$") ? "unknown" : c;
    }

    /** "grok-kit 0.1.0 (commit abc1234)", for reports. */
    public static String describe() {
        return "grok-kit " + version() + " (commit " + commit() + ")";
    }

    private static String vectorWidth() {
        try {
            int bits = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize();
            return bits + "-bit (" + bits / 32 + " floats per vector)";
        } catch (LinkageError e) {
            return "not available (run through ./grok, which adds --add-modules jdk.incubator.vector)";
        }
    }

    private static Properties props;

    private static synchronized Properties build() {
        if (props == null) {
            props = new Properties();
            try (InputStream in = VersionInfo.class.getResourceAsStream(RESOURCE)) {
                if (in != null) props.load(in);
            } catch (IOException ignored) {
                // an unreadable build record reads as "unknown"
            }
        }
        return props;
    }
}
