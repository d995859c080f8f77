package grokkit.cli;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class GrokCliTest {
    @Test
    void unknownSubcommandIsAUsageError() {
        assertThat(GrokCli.run("no-such-command")).isEqualTo(2);
    }

    @Test
    void helpSucceeds() {
        assertThat(GrokCli.run("--help")).isZero();
    }
}
