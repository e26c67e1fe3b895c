package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The scopes of {@link L1Upkeep}: what Caffeine hands its executor inside {@link L1Upkeep#fillAfterLock} runs on the
 * same thread once the locked part has returned, exactly once, whatever nests or throws; until a drain Caffeine
 * scheduled has run it schedules no other, so a task kept and never run leaves its cache without upkeep for good.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class L1UpkeepScopeTest {

  private final List<String> events = new CopyOnWriteArrayList<>();

  private Runnable task(String name) {
    return () -> events.add(name + "@" + Thread.currentThread().getName());
  }

  private String here(String name) {
    return name + "@" + Thread.currentThread().getName();
  }

  @Test
  void aTaskScheduledWhileLockedRunsAfterTheLockedPartOnTheSameThread() {
    boolean got = L1Upkeep.fillAfterLock(() -> {
      L1Upkeep.EXECUTOR.execute(task("drain"));
      events.add(here("locked-done"));
      return true;
    });
    assertThat(got).isTrue();
    assertThat(events).containsExactly(here("locked-done"), here("drain"));
  }

  @Test
  void nestedFillsRunEveryTaskOnceAfterTheOuterLockedPart() {
    L1Upkeep.fillAfterLock(() -> {
      L1Upkeep.EXECUTOR.execute(task("a"));
      assertThat(L1Upkeep.fillAfterLock(() -> {
        L1Upkeep.EXECUTOR.execute(task("b"));
        return false;
      })).isFalse();
      L1Upkeep.fill(() -> L1Upkeep.EXECUTOR.execute(task("c")));
      events.add(here("outer-done"));
      return true;
    });
    assertThat(events).containsExactly(here("outer-done"), here("a"), here("b"), here("c"));
  }

  @Test
  void aTaskScheduledByADeferredTaskRunsAtOnce() {
    L1Upkeep.fillAfterLock(() -> {
      L1Upkeep.EXECUTOR.execute(() -> {
        events.add(here("first"));
        L1Upkeep.EXECUTOR.execute(task("second"));
        events.add(here("first-done"));
      });
      return true;
    });
    assertThat(events).containsExactly(here("first"), here("second"), here("first-done"));
  }

  @Test
  void inAnInlineScopeAFillAfterLockDefersThenTheScopeStaysInline() {
    L1Upkeep.fill(() -> {
      L1Upkeep.fillAfterLock(() -> {
        L1Upkeep.EXECUTOR.execute(task("deferred"));
        events.add(here("locked-done"));
        return true;
      });
      L1Upkeep.EXECUTOR.execute(task("inline"));
    });
    assertThat(events).containsExactly(here("locked-done"), here("deferred"), here("inline"));
  }

  @Test
  void whenTheLockedPartThrowsItsTasksStillRunAndItsExceptionIsTheOneThrown() {
    IllegalStateException boom = new IllegalStateException("locked part");
    assertThatThrownBy(() -> L1Upkeep.fillAfterLock(() -> {
      L1Upkeep.EXECUTOR.execute(task("drain"));
      throw boom;
    })).isSameAs(boom);
    assertThat(events).containsExactly(here("drain"));
  }

  /**
   * A task that throws is Caffeine's upkeep failing, not the fill: as when Caffeine runs it on its own (its pool task
   * logs; a task its executor runs inline and throws is logged and the upkeep run again), it is logged, the tasks
   * after it run, and the fill returns what it returned.
   */
  @Test
  void aDeferredTaskThatThrowsNeitherLosesTheTasksAfterItNorFailsTheFill() {
    boolean got = L1Upkeep.fillAfterLock(() -> {
      L1Upkeep.EXECUTOR.execute(() -> {
        throw new IllegalStateException("first task");
      });
      L1Upkeep.EXECUTOR.execute(task("second"));
      return true;
    });
    assertThat(got).isTrue();
    assertThat(events).as("the task after the one that threw").containsExactly(here("second"));
  }

  /**
   * End to end: a read whose fill's upkeep throws (here a user's ticker, once, inside Caffeine's expiry) still returns
   * the value it loaded, and the L1 keeps its upkeep. Before 70a2e08 the upkeep ran inside Caffeine's call to its
   * executor, which caught and logged the failure.
   */
  @Test
  void aReadWhoseFillUpkeepThrowsStillReturnsItsValue() {
    AtomicLong now = new AtomicLong(1_000_000);
    AtomicBoolean armed = new AtomicBoolean();
    Ticker ticker = () -> {
      if (armed.get() && Arrays.stream(new Throwable().getStackTrace())
          .anyMatch(e -> e.getMethodName().equals("expireEntries")) && armed.compareAndSet(true, false)) {
        throw new IllegalStateException("ticker");
      }
      return now.get();
    };
    try (TieredCache<String, String> cache = TieredCache.<String, String>builder("throwing-upkeep")
        .keyCodec(k -> k).ticker(ticker)
        .l1(l1 -> l1.maximumSize(10).expireAfterWrite(Duration.ofSeconds(1))).build()) {
      assertThat(cache.get("a", k -> "a")).isEqualTo("a");
      now.addAndGet(TimeUnit.SECONDS.toNanos(2));
      armed.set(true);
      assertThat(cache.get("b", k -> "b")).isEqualTo("b");
      assertThat(armed.get()).as("the upkeep ran and threw").isFalse();
      for (int i = 0; i < 20; i++) {
        assertThat(cache.get("k" + i, k -> "v")).isEqualTo("v");
      }
      assertThat(ForkJoinPool.commonPool().awaitQuiescence(10, TimeUnit.SECONDS)).isTrue();
      assertThat(cache.get("last", k -> "v")).isEqualTo("v");
      assertThat(ForkJoinPool.commonPool().awaitQuiescence(10, TimeUnit.SECONDS)).isTrue();
      assertThat(cache.estimatedL1Size()).as("the bound holds after").isLessThanOrEqualTo(10);
    }
  }

  @Test
  void whenBothTheLockedPartAndATaskThrowTheLockedPartsExceptionIsThrown() {
    IllegalStateException locked = new IllegalStateException("locked part");
    IllegalStateException drain = new IllegalStateException("drain");
    assertThatThrownBy(() -> L1Upkeep.fillAfterLock(() -> {
      L1Upkeep.EXECUTOR.execute(() -> {
        throw drain;
      });
      throw locked;
    })).isSameAs(locked);
  }

  @Test
  void afterAFillAfterLockATaskGoesToThePoolAgain() throws Exception {
    L1Upkeep.fillAfterLock(() -> true);
    CountDownLatch ran = new CountDownLatch(1);
    AtomicReference<Thread> on = new AtomicReference<>();
    L1Upkeep.EXECUTOR.execute(() -> {
      on.set(Thread.currentThread());
      ran.countDown();
    });
    assertThat(ran.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(on.get()).isNotSameAs(Thread.currentThread());
  }
}
