package dev.tiercache.query;

import dev.tiercache.Tags;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Turns a {@link Query} into what the cache needs: the tags of its result (its tables, the tables declared to change
 * them, its extra tags), the tags a write invalidates, its key, and whether a read may be cached at all.
 */
final class QueryPlanner {

  /**
   * Marks a write whose effects no tag can name ({@code TRUNCATE ... CASCADE} of a table without declared
   * cascades): the executor invalidates the whole cache ({@link dev.tiercache.Invalidation#all()}) for it.
   */
  static final String EVERYTHING = "tiercache-query:everything";

  private final TableDependencies dependencies;

  QueryPlanner(TableDependencies dependencies) {
    this.dependencies = dependencies;
  }

  /**
   * The tags of a read's result.
   *
   * @throws IllegalArgumentException if the query is SQL whose tables cannot be found, or not a query
   */
  Tags readTags(Query query) {
    return tags(dependencies.readTables(readTables(query)), query);
  }

  /**
   * The tags a write invalidates.
   *
   * @throws IllegalArgumentException if the write's tables cannot be found, or it is not a write
   */
  Tags writeTags(Query write) {
    Set<String> tables;
    if (write.hasExplicitTables()) {
      tables = new LinkedHashSet<>(write.explicitTables());
    } else if (!write.isSql()) {
      tables = Set.of();
    } else {
      SqlTables.Analysis analysis = SqlTables.analyse(write.name());
      if (analysis.kind() != SqlTables.Kind.WRITE) {
        throw cannotTell(analysis, true);
      }
      tables = analysis.tables();
      // TRUNCATE ... CASCADE of a table with nothing declared for it: which tables it empties is unknown.
      if (analysis.cascades() && !tables.stream().allMatch(dependencies::declaresChanges)) {
        return Tags.of(EVERYTHING);
      }
    }
    return tags(dependencies.writtenTables(tables), write);
  }

  String key(Query query, Tags tags) {
    return QueryKeys.key(query, tags);
  }

  /**
   * Why a read must not be cached, or null if it may be. Never cached: a {@link Query#bypass() bypass} and a
   * locking read. Cached only with explicit tables or a TTL: a read that names no table or calls a volatile function.
   */
  String refusal(Query query) {
    if (query.mode() == QueryMode.BYPASS) {
      return "bypass";
    }
    if (!query.isSql()) {
      return null;
    }
    // Before the analysis: such a read is never cached, so it needs no tables (T-SQL's hints do not all parse).
    String never = SqlText.neverCached(query.name());
    if (never != null || query.hasExplicitTables()) {
      return never;
    }
    SqlTables.Analysis analysis = SqlTables.analyse(query.name());
    if (analysis.kind() != SqlTables.Kind.READ) {
      throw cannotTell(analysis, false);
    }
    if (analysis.uncacheable() == null || !analysis.lockingRead() && query.ttl() != null) {
      return null;
    }
    return analysis.uncacheable();
  }

  /** The tables a read names (explicit or parsed), before declared dependencies. */
  Set<String> readTables(Query query) {
    if (query.hasExplicitTables()) {
      return new LinkedHashSet<>(query.explicitTables());
    }
    if (!query.isSql()) {
      return Set.of();
    }
    SqlTables.Analysis analysis = SqlTables.analyse(query.name());
    if (analysis.kind() != SqlTables.Kind.READ) {
      throw cannotTell(analysis, false);
    }
    return analysis.tables();
  }

  private static Tags tags(Set<String> tables, Query query) {
    List<String> all = new ArrayList<>();
    for (String table : tables) {
      all.add(Query.tableTag(table));
    }
    all.addAll(query.extraTags());
    return Tags.of(all);
  }

  private static IllegalArgumentException cannotTell(SqlTables.Analysis analysis, boolean write) {
    String why =
        analysis.kind() == SqlTables.Kind.UNPARSEABLE || analysis.kind() == SqlTables.Kind.OTHER
            ? analysis.problem()
            : analysis.kind() == SqlTables.Kind.WRITE && !write
                ? "it writes (an INSERT/UPDATE/DELETE/MERGE, or a data-modifying WITH)"
                : "it is a query";
    return new IllegalArgumentException(
        "cannot tell which tables this SQL " + (write ? "writes" : "reads") + ": " + why
            + (write
                ? "; writes go through update(...) with INSERT/UPDATE/DELETE/MERGE, or name the tables with"
                    + " Query.sql(sql, params).tables(...)"
                : "; cached reads must be SELECT statements (run writes with update(...)), or name the tables with"
                    + " Query.sql(sql, params).tables(...)"));
  }
}
