package dev.tiercache.spring.sample;

import dev.tiercache.redis.testing.RedisExtension;
import java.lang.reflect.Proxy;
import java.util.Optional;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A Redis for the sample with nothing installed: the tests' provider chain ({@code REDIS_URL}, {@code redis-server}
 * on the PATH, the binary inside embedded-redis), driven outside JUnit. Applications set {@code spring.data.redis.*}.
 */
final class SampleRedis implements AutoCloseable {

  private final RedisExtension fixture = RedisExtension.standalone();
  private final ExtensionContext context =
      (ExtensionContext) Proxy.newProxyInstance(
          SampleRedis.class.getClassLoader(),
          new Class<?>[] {ExtensionContext.class},
          (proxy, method, args) -> switch (method.getName()) {
            case "getUniqueId" -> "[engine:tiercache-spring-sample]";
            case "getDisplayName", "toString" -> "Tiercache Spring sample";
            case "getRequiredTestClass" -> TwoInstances.class;
            case "getTestClass" -> Optional.of(TwoInstances.class);
            case "hashCode" -> System.identityHashCode(proxy);
            case "equals" -> proxy == args[0];
            default -> throw new UnsupportedOperationException(method.getName());
          });

  SampleRedis() {
    fixture.beforeAll(context);
  }

  String host() {
    return fixture.host();
  }

  int port() {
    return fixture.port();
  }

  @Override
  public void close() {
    fixture.afterAll(context);
  }
}
