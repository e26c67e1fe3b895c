package dev.tiercache.testkit;

import dev.tiercache.TieredCache;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** An L1 filled at one time, so that all of it expires at once: the backlog Caffeine's next upkeep expires. */
public final class ExpiryBacklog {

  private ExpiryBacklog() {}

  /**
   * Loads keys {@code k0} to {@code k<entries - 1>} (value {@code "v"}) by bulk reads of 1,000 keys.
   *
   * @param cache the cache to fill
   * @param entries how many keys; a multiple of 1,000
   */
  public static void fill(TieredCache<String, String> cache, int entries) {
    for (int batch = 0; batch < entries / 1_000; batch++) {
      List<String> keys = new ArrayList<>(1_000);
      for (int i = 0; i < 1_000; i++) {
        keys.add("k" + (batch * 1_000 + i));
      }
      cache.getAll(keys, wanted -> {
        Map<String, String> loaded = new HashMap<>();
        wanted.forEach(k -> loaded.put(k, "v"));
        return loaded;
      });
    }
  }
}
