package dev.tiercache.query;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Views, which a query names instead of their base tables: read from {@code INFORMATION_SCHEMA.VIEWS} (standard
 * SQL; H2 and PostgreSQL have it) when the builder asks, and otherwise looked up once per table name when a result
 * is cached, to warn that a view is cached without declared base tables. The memo of names already checked is
 * bounded.
 */
final class ViewCatalog {

  private static final Logger LOG = LoggerFactory.getLogger(ViewCatalog.class);

  private final Cache<String, Boolean> checked = Caffeine.newBuilder().maximumSize(10_000).build();

  /**
   * Reads every view's definition and returns the tables each one reads.
   *
   * @throws SQLException if the database has no readable {@code INFORMATION_SCHEMA.VIEWS}
   */
  static Map<String, Set<String>> fromDatabase(DataSource dataSource) throws SQLException {
    Map<String, Set<String>> views = new LinkedHashMap<>();
    try (Connection c = dataSource.getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT TABLE_NAME, VIEW_DEFINITION FROM INFORMATION_SCHEMA.VIEWS WHERE LOWER(TABLE_SCHEMA) NOT IN"
                    + " ('information_schema', 'pg_catalog')")) {
      while (rs.next()) {
        String view = SqlTables.normalise(rs.getString(1));
        String definition = rs.getString(2);
        SqlTables.Analysis analysis =
            definition == null ? null : SqlTables.analyse(SqlText.normalise(stripTrailingSemicolon(definition)));
        if (analysis == null || analysis.kind() != SqlTables.Kind.READ || analysis.tables().isEmpty()) {
          LOG.warn("cannot read the definition of view {}: declare its base tables with view(...)", view);
          continue;
        }
        views.put(view, analysis.tables());
      }
    }
    return views;
  }

  /**
   * Warns, once per name, when a result over a view is cached although the view's base tables are not declared:
   * writes to them would not invalidate it.
   */
  void warnIfBlind(Connection connection, Set<String> tables, TableDependencies dependencies) {
    for (String table : tables) {
      if (checked.getIfPresent(table) != null) {
        continue;
      }
      checked.put(table, Boolean.TRUE);
      if (dependencies.readTables(Set.of(table)).size() == 1 && isView(connection, table)) {
        LOG.warn(
            "a result over view {} is cached, but its base tables are not declared: writes to them will not"
                + " invalidate it; declare them with view(\"{}\", ...) or viewsFromDatabase()",
            table, table);
      }
    }
  }

  private static boolean isView(Connection connection, String table) {
    try {
      DatabaseMetaData meta = connection.getMetaData();
      // A name without letter case (CJK) is its own upper case: one lookup, not a duplicate Set.of element.
      for (String name : new java.util.LinkedHashSet<>(List.of(table, table.toUpperCase(Locale.ROOT)))) {
        try (ResultSet rs = meta.getTables(null, null, name, new String[] {"VIEW"})) {
          if (rs.next()) {
            return true;
          }
        }
      }
      return false;
    } catch (SQLException e) {
      return false; // only a warning is at stake
    }
  }

  private static String stripTrailingSemicolon(String sql) {
    String s = sql.strip();
    return s.endsWith(";") ? s.substring(0, s.length() - 1) : s;
  }
}
