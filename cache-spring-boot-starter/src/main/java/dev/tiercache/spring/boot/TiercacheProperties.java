package dev.tiercache.spring.boot;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.beans.factory.InitializingBean;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.NestedConfigurationProperty;

/**
 * The {@code tiercache.*} properties. The Redis connection itself comes from Spring Boot's
 * {@code spring.data.redis.*} properties. Checked once bound: a value the core would refuse fails start-up with a
 * message naming the property.
 */
@ConfigurationProperties(prefix = "tiercache")
public class TiercacheProperties implements InitializingBean {

  /** Whether to auto-configure Tiercache's cache manager. */
  private boolean enabled = true;

  /**
   * Whether caches defer put and evict inside a transaction to after its commit, and drop them on rollback (Spring's
   * TransactionAwareCacheDecorator).
   */
  private boolean transactionAware = true;

  /** Whether null results are cached (as Spring's null marker); a cache's allow-null-values overrides it. */
  private boolean allowNullValues = true;

  /** Whether caches not named in cache-names or caches are created on first use. */
  private boolean dynamic = true;

  /** Caches to create at start-up (the keys of tiercache.caches are created too). */
  private List<String> cacheNames = new ArrayList<>();

  /** The shared L2. */
  private final L2 l2 = new L2();

  /** The CachedQueryExecutor bean (with cache-query and a DataSource). */
  private final Query query = new Query();

  /** Settings every cache starts from. */
  @NestedConfigurationProperty private final TiercacheCacheProperties defaults = new TiercacheCacheProperties();

  /** Settings of single caches, by cache name; each overrides the defaults it sets. */
  private final Map<String, TiercacheCacheProperties> caches = new LinkedHashMap<>();

  /**
   * Checks the bound values, so that a bad one fails start-up naming its property rather than later, in the core
   * builder's words, naming neither the property nor the cache.
   *
   * @throws IllegalArgumentException naming the first bad property and why
   */
  @Override
  public void afterPropertiesSet() {
    defaults.validate("tiercache.defaults");
    caches.forEach((name, cache) -> cache.validate("tiercache.caches" + mapKey(name)));
    if (query.getMaxCachedRows() != null && query.getMaxCachedRows() <= 0) {
      throw new IllegalArgumentException(
          "tiercache.query.max-cached-rows must be positive, was " + query.getMaxCachedRows());
    }
  }

  /** A map key as a property name part: {@code .books}, or Boot's bracket form for a key that needs it. */
  private static String mapKey(String key) {
    return key.matches("[a-z0-9][a-z0-9-]*") ? "." + key : "[" + key + "]";
  }

  /**
   * Returns whether Tiercache is auto-configured.
   *
   * @return the flag
   */
  public boolean isEnabled() {
    return enabled;
  }

  /**
   * Sets whether Tiercache is auto-configured.
   *
   * @param enabled the flag
   */
  public void setEnabled(boolean enabled) {
    this.enabled = enabled;
  }

  /**
   * Returns whether caches are transaction-aware.
   *
   * @return the flag
   */
  public boolean isTransactionAware() {
    return transactionAware;
  }

  /**
   * Sets whether caches are transaction-aware.
   *
   * @param transactionAware the flag
   */
  public void setTransactionAware(boolean transactionAware) {
    this.transactionAware = transactionAware;
  }

  /**
   * Returns whether null results are cached.
   *
   * @return the flag
   */
  public boolean isAllowNullValues() {
    return allowNullValues;
  }

  /**
   * Sets whether null results are cached.
   *
   * @param allowNullValues the flag
   */
  public void setAllowNullValues(boolean allowNullValues) {
    this.allowNullValues = allowNullValues;
  }

  /**
   * Returns whether unknown caches are created on first use.
   *
   * @return the flag
   */
  public boolean isDynamic() {
    return dynamic;
  }

  /**
   * Sets whether unknown caches are created on first use.
   *
   * @param dynamic the flag
   */
  public void setDynamic(boolean dynamic) {
    this.dynamic = dynamic;
  }

  /**
   * Returns the caches created at start-up.
   *
   * @return the names
   */
  public List<String> getCacheNames() {
    return cacheNames;
  }

  /**
   * Sets the caches created at start-up.
   *
   * @param cacheNames the names
   */
  public void setCacheNames(List<String> cacheNames) {
    this.cacheNames = cacheNames;
  }

  /**
   * Returns the L2 settings.
   *
   * @return the L2 settings
   */
  public L2 getL2() {
    return l2;
  }

  /**
   * Returns the query executor settings.
   *
   * @return the query settings
   */
  public Query getQuery() {
    return query;
  }

  /**
   * Returns the settings every cache starts from.
   *
   * @return the defaults
   */
  public TiercacheCacheProperties getDefaults() {
    return defaults;
  }

  /**
   * Returns the per-cache settings.
   *
   * @return settings by cache name
   */
  public Map<String, TiercacheCacheProperties> getCaches() {
    return caches;
  }

  /** The shared L2 (Redis, connected with Spring Boot's spring.data.redis.* settings). */
  public static class L2 {

    /** Whether caches use Redis as their L2; false makes every cache L1-only (one instance, no bus). */
    private boolean enabled = true;

    /** The prefix of every Redis key and channel Tiercache uses. */
    private String namespace = "tiercache";

    /**
     * Returns whether the L2 is used.
     *
     * @return the flag
     */
    public boolean isEnabled() {
      return enabled;
    }

    /**
     * Sets whether the L2 is used.
     *
     * @param enabled the flag
     */
    public void setEnabled(boolean enabled) {
      this.enabled = enabled;
    }

    /**
     * Returns the Redis namespace.
     *
     * @return the namespace
     */
    public String getNamespace() {
      return namespace;
    }

    /**
     * Sets the Redis namespace.
     *
     * @param namespace the namespace
     */
    public void setNamespace(String namespace) {
      this.namespace = namespace;
    }
  }

  /** The CachedQueryExecutor bean, joined to Spring's transactions. */
  public static class Query {

    /** Whether to declare a CachedQueryExecutor bean when cache-query and a DataSource are present. */
    private boolean enabled = true;

    /**
     * The name of the query results' cache (its Redis namespace part and the cache tag of its meters); its settings
     * are set like any cache's, under tiercache.caches.&lt;name&gt; and tiercache.defaults (but not its value type,
     * codec, tags or null policy: the query results have their own).
     */
    private String cacheName = "queries";

    /** The row classes of every cached query; the JSON codec of the L2 reads back only these (and scalars). The executor is declared only when they are set (or tiercache.l2.enabled=false). */
    private List<Class<?>> rowTypes = new ArrayList<>();

    /** The most rows a cached result may hold; larger results are returned but not cached (default 10000). */
    private Integer maxCachedRows;

    /**
     * Returns whether the executor is declared.
     *
     * @return whether the executor is declared
     */
    public boolean isEnabled() {
      return enabled;
    }

    /**
     * Sets whether the executor is declared.
     *
     * @param enabled whether the executor is declared
     */
    public void setEnabled(boolean enabled) {
      this.enabled = enabled;
    }

    /**
     * Returns the cache name.
     *
     * @return the cache name
     */
    public String getCacheName() {
      return cacheName;
    }

    /**
     * Sets the cache name.
     *
     * @param cacheName the cache name
     */
    public void setCacheName(String cacheName) {
      this.cacheName = cacheName;
    }

    /**
     * Returns the row classes.
     *
     * @return the row classes
     */
    public List<Class<?>> getRowTypes() {
      return rowTypes;
    }

    /**
     * Sets the row classes.
     *
     * @param rowTypes the row classes
     */
    public void setRowTypes(List<Class<?>> rowTypes) {
      this.rowTypes = rowTypes;
    }

    /**
     * Returns the bound.
     *
     * @return the bound
     */
    public Integer getMaxCachedRows() {
      return maxCachedRows;
    }

    /**
     * Sets the bound.
     *
     * @param maxCachedRows the bound
     */
    public void setMaxCachedRows(Integer maxCachedRows) {
      this.maxCachedRows = maxCachedRows;
    }
  }
}
