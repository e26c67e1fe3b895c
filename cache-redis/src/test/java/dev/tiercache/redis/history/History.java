package dev.tiercache.redis.history;

import java.util.ArrayList;
import java.util.List;

/**
 * Everything a run recorded: the operations of every instance, the database writes (each key starts at version 1
 * and every write adds one), and the fault windows, all on one {@link System#nanoTime()} clock.
 *
 * @param instances how many cache instances ran
 * @param keys how many keys the workload used
 * @param ops every read and write, in no particular order
 * @param dbWrites every database write, in no particular order
 * @param faults what was injected and when
 */
public record History(int instances, int keys, List<Op> ops, List<DbWrite> dbWrites, List<FaultWindow> faults) {

  /** The first version of every key, before any write. */
  public static final long INITIAL_VERSION = 1;

  /**
   * A database write of {@code version} of a key, recorded right after the database took it (so the write happened
   * no later than {@code at}).
   *
   * @param key the key's index
   * @param version the new version
   * @param at when the write was recorded
   */
  public record DbWrite(int key, long version, long at) {}

  /**
   * A fault that was in force from {@code from} to {@code to}.
   *
   * @param what a short description
   * @param from when it began
   * @param to when it ended
   */
  public record FaultWindow(String what, long from, long to) {}

  /** Collects a history from many threads: each thread appends to its own list, and {@link #build()} joins them. */
  static final class Recorder {
    private final int instances;
    private final int keys;
    private final List<List<Op>> opLists = new ArrayList<>();
    private final List<DbWrite> dbWrites = new ArrayList<>();
    private final List<FaultWindow> faults = new ArrayList<>();

    Recorder(int instances, int keys) {
      this.instances = instances;
      this.keys = keys;
    }

    synchronized List<Op> newThreadLog() {
      List<Op> log = new ArrayList<>();
      opLists.add(log);
      return log;
    }

    synchronized void dbWrite(int key, long version, long at) {
      dbWrites.add(new DbWrite(key, version, at));
    }

    synchronized void fault(String what, long from, long to) {
      faults.add(new FaultWindow(what, from, to));
    }

    /** Call only after every thread that logs has ended. */
    synchronized History build() {
      List<Op> all = new ArrayList<>();
      opLists.forEach(all::addAll);
      return new History(instances, keys, List.copyOf(all), List.copyOf(dbWrites), List.copyOf(faults));
    }
  }
}
