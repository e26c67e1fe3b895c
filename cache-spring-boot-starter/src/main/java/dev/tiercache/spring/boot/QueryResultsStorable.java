package dev.tiercache.spring.boot;

import org.springframework.boot.autoconfigure.condition.AnyNestedCondition;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;

/**
 * Whether the query executor's results can be cached correctly: with row types for the L2's codec
 * ({@code tiercache.query.row-types}), or without an L2 at all ({@code tiercache.l2.enabled=false}, one instance).
 * An executor caching in each instance's L1 alone, next to other instances, could serve rows they changed.
 */
final class QueryResultsStorable extends AnyNestedCondition {

  QueryResultsStorable() {
    super(ConfigurationPhase.PARSE_CONFIGURATION);
  }

  @ConditionalOnProperty(prefix = "tiercache.query", name = "row-types")
  static class RowTypes {}

  @ConditionalOnProperty(prefix = "tiercache.l2", name = "enabled", havingValue = "false")
  static class NoL2 {}
}
