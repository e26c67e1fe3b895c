package dev.tiercache.spring.boot;

import dev.tiercache.spi.L2Store;
import org.springframework.beans.factory.NoUniqueBeanDefinitionException;
import org.springframework.beans.factory.ObjectProvider;

/** The one L2 store the auto-configured caches share. */
final class SharedL2 {

  private SharedL2() {}

  /**
   * The application's or the starter's L2 store, null if there is none. Several candidates and none
   * {@code @Primary} fail: caches without an L2 would start and serve each instance's L1 with no bus between them,
   * which is {@code tiercache.l2.enabled=false}'s meaning, not a fallback for an ambiguity.
   *
   * @throws IllegalStateException naming the candidates, caused by Spring's {@link NoUniqueBeanDefinitionException}
   */
  static L2Store of(ObjectProvider<L2Store> stores, String user) {
    try {
      return stores.getIfAvailable();
    } catch (NoUniqueBeanDefinitionException e) {
      String names = e.getBeanNamesFound() == null ? "" : " (" + String.join(", ", e.getBeanNamesFound()) + ")";
      throw new IllegalStateException(
          user + " needs one L2Store but found " + e.getNumberOfBeansFound() + names + " and none is @Primary: "
              + "mark the one Tiercache should use @Primary",
          e);
    }
  }
}
