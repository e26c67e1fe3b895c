package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import dev.tiercache.spi.L2Entry;
import dev.tiercache.testkit.ForwardingL2Store;
import dev.tiercache.testkit.InMemoryBus;
import dev.tiercache.testkit.InMemoryL2Store;
import dev.tiercache.testkit.TestCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An invalidation or a put whose L2 call throws an {@link Error} (a store's or a codec's bug: an AssertionError, a
 * StackOverflowError) is handled as one whose call failed (DESIGN.md invariant 1): the invalidation is queued and
 * retried, this instance does not trust the L2 until the retry lands, and the retry announces it to the other
 * instances. The caller sees the Error itself, unchanged. Without that, the L2 kept the old value, this instance read
 * it back at once, and the others kept it in their L1 for good.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StoreErrorInvalidationTest {

  private static final String NAME = "store-error";
  private static final String KEY = "user:1";
  private static final Tags TAGS = Tags.of("tenant:7");
  private static final Duration HEAL = Duration.ofSeconds(10);

  /** What the store's bug throws. */
  static final class StoreBug extends Error {
    private static final long serialVersionUID = 1L;

    StoreBug() {
      super("a store's bug", null, false, false);
    }
  }

  private final InMemoryL2Store memory = new InMemoryL2Store();
  /** Whether the next put or invalidation the store is called with throws a StoreBug (once). */
  private final AtomicBoolean armed = new AtomicBoolean();
  /** The StoreBug thrown, to check the caller gets that very Error. */
  private final AtomicReference<StoreBug> thrown = new AtomicReference<>();
  /**
   * Holds every invalidation after the bug until the test has looked at the instance while its retry is still due:
   * the first retry comes 50 ms later, too soon to look at it otherwise on a loaded machine.
   */
  private final CountDownLatch retriesMayLand = new CountDownLatch(1);

  private final ForwardingL2Store store = new ForwardingL2Store(memory) {
    @Override
    public CompletableFuture<Void> put(String cache, String key, L2Entry entry, Duration ttl) {
      return write(() -> super.put(cache, key, entry, ttl));
    }

    @Override
    public CompletableFuture<Void> invalidateKey(String cache, String key) {
      return write(() -> super.invalidateKey(cache, key));
    }

    @Override
    public CompletableFuture<Void> invalidatePrefix(String cache, String prefix) {
      return write(() -> super.invalidatePrefix(cache, prefix));
    }

    @Override
    public CompletableFuture<Void> invalidateTag(String cache, String tag) {
      return write(() -> super.invalidateTag(cache, tag));
    }

    @Override
    public CompletableFuture<Void> invalidatePattern(String cache, String glob) {
      return write(() -> super.invalidatePattern(cache, glob));
    }
  };

  /** A put or an invalidation: throws the armed bug, or (after it) waits for the test to let it through. */
  private CompletableFuture<Void> write(Supplier<CompletableFuture<Void>> call) {
    if (armed.compareAndSet(true, false)) {
      StoreBug bug = new StoreBug();
      thrown.set(bug);
      throw bug;
    }
    if (thrown.get() != null) {
      try {
        if (!retriesMayLand.await(HEAL.toMillis(), TimeUnit.MILLISECONDS)) {
          return CompletableFuture.failedFuture(new IllegalStateException("test: the retry was never let through"));
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return CompletableFuture.failedFuture(e);
      }
    }
    return call.get();
  }

  private final InMemoryBus bus = new InMemoryBus();
  private final AtomicReference<String> database = new AtomicReference<>("v1");
  /** The caches' own executor: a retry held by the test must not hold the common pool. */
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private final List<Node> nodes = new ArrayList<>();

  private final class Node {
    final AtomicInteger loads = new AtomicInteger();
    final TieredCache<String, String> cache =
        TieredCache.<String, String>builder(NAME)
            .keyCodec(k -> k)
            .l2(store)
            .bus(bus)
            .valueCodec(TestCodec.STRING)
            .executor(executor)
            .l2RetryInterval(Duration.ofMillis(50))
            .build();

    Node() {
      nodes.add(this);
    }

    String read() {
      return cache.get(KEY, TAGS, k -> {
        loads.incrementAndGet();
        return database.get() + ":" + k;
      });
    }
  }

  @AfterEach
  void close() throws InterruptedException {
    retriesMayLand.countDown();
    nodes.forEach(node -> node.cache.close());
    executor.shutdown();
    assertThat(executor.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
  }

  /** What the L2 serves for the key, read past the caches; null if nothing. */
  private String inL2() {
    L2Entry entry = memory.get(NAME, KEY).join().entry();
    return entry == null ? null : TestCodec.STRING.decode(entry.value());
  }

  /**
   * Two instances hold the key's old value (A loaded it, B read it from the L2); A's {@code write}, which covers the
   * key, meets the store's bug. A then serves the new value although the L2 still holds the old one, and keeps the
   * invalidation queued; once the retry lands, the L2 and B have dropped the old value.
   */
  private void theErrorDefersTheInvalidation(Consumer<TieredCache<String, String>> write) {
    Node a = new Node();
    Node b = new Node();
    assertThat(a.read()).isEqualTo("v1:" + KEY);
    assertThat(b.read()).isEqualTo("v1:" + KEY);
    assertThat(b.loads).as("B read A's value from the L2").hasValue(0);

    database.set("v2");
    armed.set(true);
    Throwable caught = catchThrowable(() -> write.accept(a.cache));
    assertThat(thrown.get()).as("the store's bug was thrown").isNotNull();
    assertThat(caught).as("the caller gets the store's Error unchanged").isSameAs(thrown.get());

    assertThat(inL2()).as("the retry has not landed: the L2 still holds the old value").isEqualTo("v1:" + KEY);
    assertThat(a.read()).as("A does not serve the old value from the L2").isEqualTo("v2:" + KEY);
    CacheStatus status = a.cache.status();
    assertThat(status.pendingInvalidations()).as("the invalidation is queued, once").isEqualTo(1);
    assertThat(status.l2Trusted()).as("A does not trust the L2 until it is applied").isFalse();

    retriesMayLand.countDown();
    await("the queued invalidation is applied once the store works again")
        .atMost(HEAL)
        .until(() -> a.cache.status().pendingInvalidations() == 0);
    assertThat(a.cache.status().l2Trusted()).isTrue();
    assertThat(inL2()).as("the old value is gone from the L2").isNotEqualTo("v1:" + KEY);
    assertThat(b.read()).as("the retry announced the invalidation to B").isEqualTo("v2:" + KEY);
    assertThat(a.read()).isEqualTo("v2:" + KEY);
  }

  @Test
  void aKeyInvalidation() {
    theErrorDefersTheInvalidation(cache -> cache.invalidate(Invalidation.key(KEY)));
  }

  @Test
  void anAsyncKeyInvalidation() {
    theErrorDefersTheInvalidation(
        cache -> {
          try {
            cache.invalidateAsync(Invalidation.key(KEY)).join();
          } catch (CompletionException e) {
            // The future carries the Error as its cause: that is what the caller of an async form gets.
            throw (Error) e.getCause();
          }
        });
  }

  @Test
  void aTagInvalidation() {
    theErrorDefersTheInvalidation(cache -> cache.invalidate(Invalidation.tag("tenant:7")));
  }

  @Test
  void aPrefixInvalidation() {
    theErrorDefersTheInvalidation(cache -> cache.invalidate(Invalidation.prefix("user:")));
  }

  @Test
  void aPatternInvalidation() {
    theErrorDefersTheInvalidation(cache -> cache.invalidate(Invalidation.pattern("user:*")));
  }

  @Test
  void aPut() {
    theErrorDefersTheInvalidation(cache -> cache.put(KEY, "v2:" + KEY, TAGS));
  }
}
