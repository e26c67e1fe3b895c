package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.tiercache.testkit.InMemoryBus;
import dev.tiercache.testkit.InMemoryL2Store;
import dev.tiercache.testkit.TestCodec;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.reflect.Field;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Review of raw values with a TTL judged by Caffeine (L1Tier#rawExpiry): on an injected ticker a value is served
 * until exactly its TTL counted from its install, whichever path installed it (put, read-through load, bulk load,
 * async load, L2 fill), whether or not a read wrapped it into an entry once an invalidation of many keys began; and
 * under concurrent puts, reads, prefix invalidations and ticker moves, no hit is past its TTL and none returns a
 * value a put or an invalidation that returned before the read began had superseded. And a read that wraps one raw
 * value while the key holds another must not restart the other's TTL (white-box, on the L1 tier).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RawExpiryReviewTest {

  private static final long TTL = 1_000_000_000L;

  enum Path { PUT, LOAD, GET_ALL, ASYNC_LOAD, L2_FILL }

  private final ExecutorService pool = Executors.newFixedThreadPool(6);

  @AfterEach
  void tearDown() {
    pool.shutdownNow();
  }

  static List<Arguments> paths() {
    List<Arguments> all = new ArrayList<>();
    for (Path path : Path.values()) {
      for (boolean bus : new boolean[] {false, true}) {
        for (boolean wrapped : new boolean[] {false, true}) {
          all.add(Arguments.of(path, bus, wrapped));
        }
      }
    }
    return all;
  }

  @ParameterizedTest(name = "{0} bus {1} wrapped {2}")
  @MethodSource("paths")
  void everyInstallPathExpiresExactlyAtItsTtl(Path path, boolean bus, boolean wrapped) throws Exception {
    AtomicLong now = new AtomicLong(2_000_000);
    InMemoryL2Store store = new InMemoryL2Store(now::get);
    boolean l2 = path == Path.L2_FILL;
    try (TieredCache<String, String> cache = build("paths-" + path + bus + wrapped, now, bus, l2 ? store : null);
        TieredCache<String, String> writer = l2 ? build("paths-" + path + bus + wrapped, now, false, store) : null) {
      long start = now.get();
      String key = "k";
      switch (path) {
        case PUT -> cache.put(key, "v");
        case LOAD -> assertThat(cache.get(key, k -> "v")).isEqualTo("v");
        case GET_ALL -> assertThat(cache.getAll(List.of(key), keys -> Map.of(key, "v"))).containsEntry(key, "v");
        case ASYNC_LOAD -> assertThat(cache.getAsync(key, Tags.empty(), k -> "v").get(5, TimeUnit.SECONDS))
            .isEqualTo("v");
        case L2_FILL -> {
          writer.put(key, "v");
          assertThat(cache.getIfPresent(key)).as("filled from the L2").isEqualTo("v");
        }
        default -> throw new IllegalArgumentException();
      }
      if (wrapped) {
        now.set(start + TTL / 2);
        cache.invalidate(Invalidation.prefix("other:"));
        assertThat(cache.getIfPresent(key)).as("read (and wrapped) half way").isEqualTo("v");
      }
      if (l2) {
        // From now on only the L1 can answer.
        store.setDown(true);
      }
      now.set(start + TTL - 2);
      assertThat(cache.getIfPresent(key)).as("just before the TTL").isEqualTo("v");
      assertThat(cache.getAll(List.of(key), keys -> Map.of(key, "reloaded")))
          .as("bulk read just before the TTL").containsEntry(key, "v");
      now.set(start + TTL);
      assertThat(cache.getIfPresent(key)).as("at the TTL").isNull();
      assertThat(cache.get(key, k -> "reloaded")).as("read-through at the TTL").isEqualTo("reloaded");
    }
  }

  /**
   * 2 writers put unique values, 1 thread invalidates prefixes, 1 moves the ticker, 2 read (getIfPresent, getAll,
   * get with a loader). Every hit is checked afterwards: the read began before the value's install + TTL (the ticker
   * only moves forward, and the install read it no later than the put returned); no put of the key, and no covering
   * invalidation, returned before the read began and began after the value's put returned.
   */
  @ParameterizedTest(name = "bus {0}")
  @ValueSource(booleans = {false, true})
  void concurrentPutsReadsInvalidationsAndTickerMovesServeNothingExpiredOrSuperseded(boolean bus) throws Exception {
    for (long ttl : new long[] {10_000L, 3_000_000_000L}) {
      runHistoryWithHits(bus, ttl, false);
    }
  }

  /** As above on the system clock (Caffeine on the coarse clock): no hit more than 1 ms past the TTL. */
  @ParameterizedTest(name = "bus {0}")
  @ValueSource(booleans = {false, true})
  void onTheSystemClockConcurrentHistoriesServeNothingMoreThanOneMillisecondPastTheTtl(boolean bus)
      throws Exception {
    for (long ttl : new long[] {TimeUnit.MILLISECONDS.toNanos(2), TimeUnit.MILLISECONDS.toNanos(30)}) {
      runHistoryWithHits(bus, ttl, true);
    }
  }

  /** Every read counts one L1 hit or miss, whether it found a raw value, wrapped one, or found it expired. */
  @Test
  void everyReadCountsOneHitOrMissThroughRawWrappedAndExpiredValues() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    AtomicLong now = new AtomicLong(2_000_000);
    try (TieredCache<String, String> cache = TieredCache.<String, String>builder("metrics-raw")
        .keyCodec(k -> k).ticker(now::get).meterRegistry(registry).negativeTtl(Duration.ofNanos(TTL / 4))
        .l1(l1 -> l1.maximumSize(100).expireAfterWrite(Duration.ofNanos(TTL))).build()) {
      long start = now.get();
      cache.put("a", "x");
      assertThat(cache.getIfPresent("a")).isEqualTo("x");
      cache.invalidate(Invalidation.prefix("other:"));
      assertThat(cache.getIfPresent("a")).as("wraps").isEqualTo("x");
      assertThat(cache.getIfPresent("a")).as("the entry").isEqualTo("x");
      assertThat(cache.getIfPresent("b")).isNull();
      cache.putAbsent("c", Tags.empty());
      assertThat(cache.getIfPresent("c", "absent")).isEqualTo("absent");
      now.set(start + TTL / 4);
      assertThat(cache.getIfPresent("c", "absent")).as("past the negative TTL").isNull();
      now.set(start + TTL);
      assertThat(cache.getIfPresent("a")).as("past the TTL").isNull();
      assertThat(gets(registry, "hit")).isEqualTo(4);
      assertThat(gets(registry, "miss")).isEqualTo(3);
    }
  }

  private static double gets(SimpleMeterRegistry registry, String result) {
    Meter meter = registry.find("cache.gets").tag("cache", "metrics-raw").tag("result", result).tag("tier", "l1")
        .meter();
    assertThat(meter).isNotNull();
    return meter instanceof FunctionCounter tally ? tally.count() : ((Counter) meter).count();
  }

  /** Access expiry with a TTL keeps the entry path (Caffeine's own clock): both expiries hold exactly. */
  @Test
  void accessExpiryWithATtlExpiresByEitherExactly() {
    AtomicLong now = new AtomicLong(2_000_000);
    try (TieredCache<String, String> cache = TieredCache.<String, String>builder("access-and-ttl")
        .keyCodec(k -> k).ticker(now::get)
        .l1(l1 -> l1.maximumSize(100).expireAfterWrite(Duration.ofNanos(TTL))
            .expireAfterAccess(Duration.ofNanos(TTL / 2)))
        .build()) {
      long start = now.get();
      cache.put("a", "x");
      cache.put("b", "y");
      cache.invalidate(Invalidation.prefix("other:"));
      now.set(start + TTL * 4 / 10);
      assertThat(cache.getIfPresent("a")).isEqualTo("x");
      now.set(start + TTL * 8 / 10);
      assertThat(cache.getIfPresent("a")).isEqualTo("x");
      assertThat(cache.getIfPresent("b")).as("idle for 0.8 TTL").isNull();
      now.set(start + TTL - 2);
      assertThat(cache.getIfPresent("a")).isEqualTo("x");
      now.set(start + TTL);
      assertThat(cache.getIfPresent("a")).as("at the TTL, though read recently").isNull();
    }
  }

  /**
   * A read that found one raw value and wraps it, while the key now holds another raw value (installed by an install
   * that read {@link InvalidationLog#latest()} as 0 before the first invalidation of many keys began, and landed
   * after the read's look-up), must not restart the other value's TTL: Caffeine restarts the write time of whatever a
   * compute returns, even unchanged (more than its 1 s tolerance after the write, or always with a TTL of at most 1
   * s). White-box: the late install is held on its key's stripe of the log, as any install of a key of that stripe
   * holds it; the read is held at Caffeine's clock reading, after its look-up.
   */
  @Test
  void aWrapThatFindsAnotherRawValueKeepsThatValuesTtl() throws Exception {
    long ttl = 3_000_000_000L;
    AtomicLong now = new AtomicLong(10_000_000_000L);
    Map<Thread, Gate> gates = new ConcurrentHashMap<>();
    L1Tier<String> l1 = gatedTier(now, gates, ttl);
    InvalidationLog log = logOf(l1);
    long start = now.get();
    String first = new String("x");
    String second = new String("y");
    assertThat(l1.install("k", first, Tags.empty(), log.stamp())).isTrue();

    Field keysField = InvalidationLog.class.getDeclaredField("keys");
    keysField.setAccessible(true);
    Object stripe = ((KeyLog) keysField.get(log)).stripe("k");
    // The read's first reading is Caffeine's look-up (the value is fresh); its second, the wrap's, before the age.
    Gate readerGate = new Gate(1);
    Future<?> reader;
    Thread lateInstall;
    synchronized (stripe) {
      lateInstall = new Thread(() -> l1.install("k", second, Tags.empty(), log.stamp()), "late-install");
      lateInstall.start();
      // The install read latest and waits for the stripe.
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> lateInstall.getState() == Thread.State.BLOCKED);
      InvalidationLog.Entry running = log.begin(Invalidation.prefix("other:"), true, () -> {});
      log.end(running, () -> {});
      assertThat(log.latest()).isNotZero();
      CountDownLatch registered = new CountDownLatch(1);
      reader = pool.submit(() -> {
        gates.put(Thread.currentThread(), readerGate);
        registered.countDown();
        return l1.get("k", false, 0);
      });
      assertThat(registered.await(10, TimeUnit.SECONDS)).isTrue();
      assertThat(readerGate.arrived().await(10, TimeUnit.SECONDS)).as("the read found the first value").isTrue();
      now.set(start + ttl / 2);
    }
    lateInstall.join(10_000);
    assertThat(lateInstall.isAlive()).isFalse();
    now.set(start + ttl * 14 / 10);
    readerGate.release().countDown();
    assertThat(L1Entry.<String>value(reader.get(10, TimeUnit.SECONDS))).as("the read began before the install")
        .isSameAs(first);

    now.set(start + ttl / 2 + ttl - 1);
    assertThat(L1Entry.<String>value(l1.get("k", false, 0))).as("just before the second value's TTL")
        .isSameAs(second);
    now.set(start + ttl / 2 + ttl);
    assertThat(l1.get("k", false, 0)).as("at the second value's TTL, counted from its install").isNull();
  }

  /**
   * A read that began after a raw value's TTL must not return it, even when a put of the key lands while Caffeine's
   * look-up runs: Caffeine reads the node's value, then its clock, then judges the node's write time, which a put
   * that reused the node has just restarted, so it hands back the value it read before, long expired. An entry is
   * judged by its own expiry and escaped this (checkValues); a raw value has none. FAILS: no fix yet (see the review
   * report). White-box: the read is held at Caffeine's clock reading, after it read the value.
   */
  @Test
  void aReadThatBeganAfterTheTtlDoesNotReturnTheExpiredValueWhenAPutLandsDuringItsLookUp() throws Exception {
    AtomicLong now = new AtomicLong(10_000_000_000L);
    Map<Thread, Gate> gates = new ConcurrentHashMap<>();
    L1Tier<String> l1 = gatedTier(now, gates, TTL);
    InvalidationLog log = logOf(l1);
    long start = now.get();
    String first = new String("x");
    assertThat(l1.install("k", first, Tags.empty(), log.stamp())).isTrue();
    // Caffeine's upkeep after the install settles on its pool before the clock moves.
    assertThat(ForkJoinPool.commonPool().awaitQuiescence(10, TimeUnit.SECONDS)).as("the pool went quiet").isTrue();
    now.set(start + TTL + 1);
    Gate readerGate = new Gate(0);
    CountDownLatch registered = new CountDownLatch(1);
    Future<Object> reader = pool.submit(() -> {
      gates.put(Thread.currentThread(), readerGate);
      registered.countDown();
      return l1.get("k", false, 0);
    });
    assertThat(registered.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(readerGate.arrived().await(10, TimeUnit.SECONDS)).as("the read found the expired value's node")
        .isTrue();
    assertThat(l1.install("k", new String("y"), Tags.empty(), log.stamp())).isTrue();
    readerGate.release().countDown();
    assertThat(reader.get(10, TimeUnit.SECONDS)).as("began 1 ns after the first value's TTL").isNull();
  }

  /** Holds a thread once, at its reading of the ticker after {@code skips} others. */
  private record Gate(CountDownLatch arrived, CountDownLatch release, AtomicInteger skips) {
    Gate(int skips) {
      this(new CountDownLatch(1), new CountDownLatch(1), new AtomicInteger(skips));
    }
  }

  /** An L1 tier with a TTL on a ticker that holds a thread at the reading its gate names. */
  private static L1Tier<String> gatedTier(AtomicLong now, Map<Thread, Gate> gates, long ttl) {
    Ticker ticker = () -> {
      Gate gate = gates.get(Thread.currentThread());
      if (gate != null && gate.skips().getAndDecrement() == 0) {
        gates.remove(Thread.currentThread());
        gate.arrived().countDown();
        await(gate.release());
      }
      return now.get();
    };
    TieredCacheBuilder<String, String> settings = TieredCache.<String, String>builder("gated")
        .keyCodec(k -> k).ticker(ticker)
        .l1(l1 -> l1.maximumSize(100).expireAfterWrite(Duration.ofNanos(ttl)));
    return new L1Tier<>(settings, new InvalidationLog(64), CacheMetrics.NONE);
  }

  private static InvalidationLog logOf(L1Tier<?> l1) throws ReflectiveOperationException {
    Field field = L1Tier.class.getDeclaredField("log");
    field.setAccessible(true);
    return (InvalidationLog) field.get(l1);
  }

  private record Hit(String key, String value, long readTick, long readSeq) {}

  private record Inv(String prefix, long startSeq, long endSeq) {}

  /**
   * Runs histories until one had hits, at most 3: a history whose readers found nothing fresh (1 in about 20 here;
   * they stop when the writers do) checks nothing.
   */
  private void runHistoryWithHits(boolean bus, long ttl, boolean system) throws Exception {
    int hits = 0;
    for (int attempt = 0; attempt < 3 && hits == 0; attempt++) {
      hits = runHistory(bus, ttl, system);
    }
    assertThat(hits).as("hits in the last of up to 3 histories").isPositive();
  }

  /** Runs one history and checks every hit; returns how many there were. */
  private int runHistory(boolean bus, long ttl, boolean system) throws Exception {
    AtomicLong ticks = new AtomicLong(4_000_000);
    LongSupplier now = system ? System::nanoTime : ticks::get;
    long slack = system ? CoarseTicker.GRANULARITY_NANOS : 0;
    AtomicLong seq = new AtomicLong();
    Map<String, Long> installedBy = new ConcurrentHashMap<>();
    Map<String, long[]> putSeqs = new ConcurrentHashMap<>();
    Map<String, List<long[]>> putsOfKey = new ConcurrentHashMap<>();
    List<Inv> invalidations = Collections.synchronizedList(new ArrayList<>());
    List<Hit> hits = Collections.synchronizedList(new ArrayList<>());
    List<String> errors = Collections.synchronizedList(new ArrayList<>());
    String[] keys = {"a:0", "a:1", "b:0", "b:1"};
    AtomicInteger unique = new AtomicInteger();
    TieredCacheBuilder<String, String> builder = TieredCache.<String, String>builder("history-" + bus + ttl)
        .keyCodec(k -> k)
        .l1(l1 -> l1.maximumSize(1000).expireAfterWrite(Duration.ofNanos(ttl)));
    if (!system) {
      builder.ticker(ticks::get);
    }
    if (bus) {
      builder.bus(new InMemoryBus());
    }
    try (TieredCache<String, String> cache = builder.build()) {
      CountDownLatch start = new CountDownLatch(1);
      AtomicBoolean running = new AtomicBoolean(true);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      List<Future<?>> writers = new ArrayList<>();
      for (int w = 0; w < 2; w++) {
        writers.add(pool.submit(() -> {
          await(start);
          ThreadLocalRandom random = ThreadLocalRandom.current();
          for (int op = 0; op < 3_000 && System.nanoTime() - deadline < 0; op++) {
            String key = keys[random.nextInt(keys.length)];
            String value = key + "#" + unique.incrementAndGet();
            long begun = seq.incrementAndGet();
            cache.put(key, value);
            long ended = seq.incrementAndGet();
            installedBy.put(value, now.getAsLong());
            long[] span = {begun, ended};
            putSeqs.put(value, span);
            putsOfKey.computeIfAbsent(key, k -> Collections.synchronizedList(new ArrayList<>())).add(span);
          }
          return null;
        }));
      }
      writers.add(pool.submit(() -> {
        await(start);
        ThreadLocalRandom random = ThreadLocalRandom.current();
        for (int op = 0; op < 300 && System.nanoTime() - deadline < 0; op++) {
          String prefix = switch (random.nextInt(3)) {
            case 0 -> "a:";
            case 1 -> "b:";
            default -> "c:";
          };
          long begun = seq.incrementAndGet();
          cache.invalidate(Invalidation.prefix(prefix));
          invalidations.add(new Inv(prefix, begun, seq.incrementAndGet()));
          Thread.onSpinWait();
        }
        return null;
      }));
      Future<?> ticker = pool.submit(() -> {
        await(start);
        ThreadLocalRandom random = ThreadLocalRandom.current();
        while (running.get() && System.nanoTime() - deadline < 0) {
          ticks.addAndGet(1 + random.nextLong(Math.max(2, ttl / 7)));
          Thread.yield();
        }
        return null;
      });
      List<Future<?>> readers = new ArrayList<>();
      for (int r = 0; r < 2; r++) {
        readers.add(pool.submit(() -> {
          await(start);
          ThreadLocalRandom random = ThreadLocalRandom.current();
          for (int op = 0; op < 200_000 && running.get() && System.nanoTime() - deadline < 0; op++) {
            String key = keys[random.nextInt(keys.length)];
            long readSeq = seq.get();
            long readTick = now.getAsLong();
            String read = switch (random.nextInt(3)) {
              case 0 -> cache.getIfPresent(key);
              case 1 -> cache.getAll(List.of(key), ks -> Map.of(key, "loaded")).get(key);
              default -> cache.get(key, k -> "loaded");
            };
            if (read == null || read.equals("loaded")) {
              continue;
            }
            if (!read.startsWith(key + "#")) {
              errors.add("read " + read + " for " + key);
            }
            hits.add(new Hit(key, read, readTick, readSeq));
          }
          return null;
        }));
      }
      start.countDown();
      for (Future<?> writer : writers) {
        writer.get(60, TimeUnit.SECONDS);
      }
      running.set(false);
      ticker.get(60, TimeUnit.SECONDS);
      for (Future<?> reader : readers) {
        reader.get(60, TimeUnit.SECONDS);
      }
    }
    for (Hit hit : hits) {
      Long installed = installedBy.get(hit.value());
      long[] span = putSeqs.get(hit.value());
      if (installed == null || span == null) {
        errors.add("hit of " + hit.value() + " whose put never returned");
        continue;
      }
      if (hit.readTick() - installed >= ttl + slack) {
        errors.add("ttl " + ttl + ": " + hit.value() + " read at " + hit.readTick() + ", installed by "
            + installed + ": " + (hit.readTick() - installed - ttl) + " past its TTL");
      }
      for (long[] other : putsOfKey.get(hit.key())) {
        if (other[0] > span[1] && other[1] < hit.readSeq()) {
          errors.add("ttl " + ttl + ": " + hit.value() + " read after a later put of its key returned");
          break;
        }
      }
      synchronized (invalidations) {
        for (Inv inv : invalidations) {
          if (hit.key().startsWith(inv.prefix()) && inv.startSeq() > span[1] && inv.endSeq() < hit.readSeq()) {
            errors.add("ttl " + ttl + ": " + hit.value() + " read after prefix " + inv.prefix() + " returned");
            break;
          }
        }
      }
    }
    assertThat(errors).as("violations (of %d hits)", hits.size()).isEmpty();
    return hits.size();
  }

  private static void await(CountDownLatch latch) {
    try {
      assertThat(latch.await(10, TimeUnit.SECONDS)).isTrue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static TieredCache<String, String> build(String name, AtomicLong now, boolean bus, InMemoryL2Store store) {
    TieredCacheBuilder<String, String> builder = TieredCache.<String, String>builder(name)
        .keyCodec(k -> k).ticker(now::get)
        .l1(l1 -> l1.maximumSize(100).expireAfterWrite(Duration.ofNanos(TTL)));
    if (bus) {
      builder.bus(new InMemoryBus());
    }
    if (store != null) {
      builder.l2(store).valueCodec(TestCodec.STRING);
    }
    return builder.build();
  }
}
