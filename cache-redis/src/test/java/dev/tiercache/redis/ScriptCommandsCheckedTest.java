package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every command the scripts run is one the start-up permission check tries (and so one the README's ACL rules
 * grant): a script that calls another fails for a least-privilege user only on the path that reaches it, which may
 * be rare (a trim, a repair). A trim by age that read the newest tombstone with {@code ZREVRANGEBYSCORE} failed so,
 * only in a fresh-clone CI run of RedisStartupChecksTest.
 */
class ScriptCommandsCheckedTest {

  /** {@code redis.call('X'}, {@code redis.pcall('X'} and {@code on('structure', 'X'}. */
  private static final Pattern CALL =
      Pattern.compile("(?:redis\\.p?call\\(|\\bon\\('[a-z]+', )'([A-Z]+)'");

  private static Set<String> commands(String lua) {
    Set<String> found = new TreeSet<>();
    Matcher m = CALL.matcher(lua);
    while (m.find()) {
      found.add(m.group(1));
    }
    return found;
  }

  @Test
  void everyCommandTheScriptsRunIsOneTheStartUpCheckTries() {
    Set<String> used = new TreeSet<>();
    for (Script script : List.of(Scripts.READ, Scripts.WRITE, Scripts.INVALIDATE, Scripts.SWEEP, Scripts.TAKE_LEASE,
        Scripts.RELEASE_LEASE)) {
      used.addAll(commands(script.body));
    }
    Set<String> tried = new TreeSet<>();
    Matcher m = Pattern.compile("try\\('([A-Z]+)'").matcher(StartupChecks.COMMANDS.body);
    while (m.find()) {
      tried.add(m.group(1));
    }

    assertThat(used).as("the pattern finds the scripts' commands").contains("ZADD", "SET", "PUBLISH", "MGET");
    assertThat(tried).containsAll(used);
  }
}
