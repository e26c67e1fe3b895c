package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import io.lettuce.core.protocol.AsyncCommand;
import io.lettuce.core.protocol.Command;
import io.lettuce.core.protocol.CommandType;
import org.junit.jupiter.api.Test;

/**
 * Review 15: Lettuce prints a command as it logs it at DEBUG ({@code CommandHandler}: "write(ctx, {}, promise)",
 * "Completing command {}"), and a command prints its output ({@code CommandOutput.toString}: "[output=" + output).
 * {@link BucketReply} is its own output ({@code this.output = this}), so printing it recurses until the stack
 * overflows: every read's {@code MGET} then costs a {@link StackOverflowError} (which the logging frameworks catch
 * and report with its stack trace) on Lettuce's event loop whenever {@code io.lettuce} logs at DEBUG. Printing a read's
 * command must work and name no key.
 */
class BucketReplyToStringTest {

  @Test
  void aReadsMgetCommandPrintsWithoutOverflowingTheStackAndNamesNoKey() {
    CacheKeyBytes.Bucket bucket = new CacheKeyBytes(new KeySpace("ns", 1)).of("users")[0];
    BucketReply reply = new BucketReply(0, 1);
    AsyncCommand<byte[], byte[], BucketReply> command =
        new AsyncCommand<>(new Command<>(CommandType.MGET, reply, new MgetArgs(bucket, new String[] {"alice@x"})));

    assertThatCode(reply::toString).doesNotThrowAnyException();
    assertThatCode(command::toString).doesNotThrowAnyException();
    assertThat(command.toString()).contains("MGET").doesNotContain("alice");
  }
}
