package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * What a tier passes to its scripts around the end of a bucket's clock: a bucket seen exhausted counts as seen at
 * none (its next legitimate clock is the fresh one after an operator deleted its keys, which is lower), and the first
 * version seen below the end afterwards is taken as it is.
 */
class SeenVersionsTest {

  private static final long END = SeenVersions.MAX_VERSION;

  private final SeenVersions seen = new SeenVersions(new KeySpace("tiercache", 2));

  private String argument(int bucket) {
    return new String(seen.argument("c", bucket), StandardCharsets.US_ASCII);
  }

  @Test
  void aBucketSeenAtTheEndCountsAsSeenAtNoneUntilAVersionBelowItIsSeen() {
    seen.observe("c", 0, END - 5);
    seen.observe("c", 1, 42);
    seen.observe("c", 0, END);
    assertThat(seen.version("c", 0)).isZero();
    assertThat(argument(0)).isEqualTo("0");
    assertThat(seen.version("c", 1)).as("another bucket").isEqualTo(42);

    seen.observe("c", 0, 1_000);
    assertThat(seen.version("c", 0)).as("the fresh clock after the deletion").isEqualTo(1_000);
    seen.observe("c", 0, 999);
    assertThat(seen.version("c", 0)).as("and only up from there").isEqualTo(1_000);
  }

  @Test
  void anAnnouncementOfTheEndIsRecordedAsTheEnd() {
    seen.observe("c", 0, 7);
    seen.observeAnnounced("c", 0, END);
    assertThat(seen.version("c", 0)).isZero();
    seen.observeAnnounced("c", 0, 8);
    assertThat(seen.version("c", 0)).isEqualTo(8);
  }

  @Test
  void versionsPastTheEndAreNotRecorded() {
    seen.observe("c", 0, 7);
    seen.observe("c", 0, END + 1);
    seen.observeAnnounced("c", 0, Long.MAX_VALUE);
    assertThat(seen.version("c", 0)).isEqualTo(7);
  }

  @Test
  void hearsayOfAVersionJustShortOfTheEndIsNotRecorded() {
    seen.observe("c", 0, 7);
    seen.observeAnnounced("c", 0, END - 1);
    seen.observeAnnounced("c", 0, SeenVersions.HEARSAY_LIMIT + 1);
    assertThat(seen.version("c", 0)).isEqualTo(7);
    seen.observeAnnounced("c", 0, SeenVersions.HEARSAY_LIMIT);
    assertThat(seen.version("c", 0)).isEqualTo(SeenVersions.HEARSAY_LIMIT);
    seen.observe("c", 0, END - 1); // the tier's own script: recorded
    assertThat(seen.version("c", 0)).isEqualTo(END - 1);
  }

  @Test
  void aVersionFromBeforeTheEndDoesNotReplaceItButTheFreshClockDoes() {
    seen.observe("c", 0, END);
    seen.observe("c", 0, END - 5); // a late reply: far ahead of the server's time
    assertThat(seen.version("c", 0)).isZero();
    long fresh = System.currentTimeMillis() * 1_000;
    seen.observe("c", 0, fresh);
    assertThat(seen.version("c", 0)).isEqualTo(fresh);
  }
}
