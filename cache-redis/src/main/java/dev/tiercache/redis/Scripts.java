package dev.tiercache.redis;

/**
 * The Lua scripts that make each bucket's reads, conditional writes and invalidations atomic. Each script touches
 * only keys of one bucket (one hash tag), so it runs on one Cluster node.
 *
 * <p>Each bucket has a version clock. Every write and every invalidation takes the next value of it: an entry
 * records its write version ({@code v}), a tag or prefix its invalidation version. An entry is valid while none of
 * its tags, and no prefix of its key, was invalidated after it was written. A read returns the clock, and a write
 * that presents a read's version is refused if its key, one of its tags, a prefix or a pattern covering its key
 * changed after that version.
 */
final class Scripts {

  private Scripts() {}

  /** Version of the entry layout (the {@code fv} field); an entry of another version reads as corrupt. */
  static final String FORMAT = "1";

  /**
   * Shared Lua: the bucket's clock. A missing clock (a new bucket, or a Redis that restarted or was flushed) starts
   * at the server's time in microseconds, far above any version handed out before, and that start is recorded as the
   * bucket's floor: a conditional write whose read came before it is refused, since the state it was checked
   * against is gone. This holds while a bucket issues fewer than one version per microsecond on average.
   */
  private static final String CLOCK =
      """
      local function clock_now(ck, meta)
        local c = redis.call('GET', ck)
        if c then return tonumber(c) end
        local t = redis.call('TIME')
        local seed = string.format('%.0f', tonumber(t[1]) * 1000000 + tonumber(t[2]))
        redis.call('SET', ck, seed)
        redis.call('SET', meta .. 'floor', seed)
        return tonumber(seed)
      end
      local function num(n)
        -- Lua prints numbers with 14 digits; versions have 16.
        return string.format('%.0f', n)
      end
      local function clock_tick(ck, meta)
        clock_now(ck, meta)
        return redis.call('INCR', ck)
      end
      """;

  /** Shared Lua: is the entry (key without prefix, write version) covered by a prefix invalidated after v? */
  private static final String PREFIX_CHECK =
      CLOCK
          + """
      local plens_cache = nil
      local function prefix_newer(meta, key, v)
        -- The lengths of invalidated prefixes, read once per script: usually none, and then no lookups at all.
        if plens_cache == nil then plens_cache = redis.call('SMEMBERS', meta .. 'plens') end
        for _, l in ipairs(plens_cache) do
          local n = tonumber(l)
          if n and n <= #key then
            local e = tonumber(redis.call('GET', meta .. 'p:' .. string.sub(key, 1, n)) or '0')
            if e > v then return true end
          end
        end
        return false
      end
      -- Tags travel as one field of length-prefixed strings ("3:abc5:hello"); nil if malformed.
      local function tags_of(s)
        local tags, i = {}, 1
        if not s then return tags end
        while i <= #s do
          local colon = string.find(s, ':', i, true)
          if not colon then return nil end
          local n = tonumber(string.sub(s, i, colon - 1))
          if not n then return nil end
          tags[#tags + 1] = string.sub(s, colon + 1, colon + n)
          i = colon + n + 1
        end
        return tags
      end
      local function tag_newer(meta, tags, v)
        for _, t in ipairs(tags) do
          local e = tonumber(redis.call('GET', meta .. 't:' .. t) or '0')
          if e > v then return true end
        end
        return false
      end
      """;

  /**
   * KEYS: clock, entry keys. ARGV: meta prefix, entry prefix, format. Returns {clock, r...}, each r being 0 (miss),
   * 1 (unreadable), or {codec, flags, data, tags}. One HMGET of fixed fields per key: the read path of every L2 hit.
   */
  static final Script READ =
      new Script(
          PREFIX_CHECK
              + """
              local meta, eprefix, fv = ARGV[1], ARGV[2], ARGV[3]
              local out = {clock_now(KEYS[1], meta)}
              for i = 2, #KEYS do
                local h = redis.pcall('HMGET', KEYS[i], 'fv', 'v', 'c', 'f', 'd', 'tg')
                local r = 0
                if h.err then
                  r = 1
                elseif h[1] or h[2] or h[3] or h[4] then
                  local v = tonumber(h[2])
                  local tags = tags_of(h[6])
                  if h[1] ~= fv or not v or not tags then
                    r = 1
                  elseif h[4] ~= 'x' and not tag_newer(meta, tags, v)
                      and not prefix_newer(meta, string.sub(KEYS[i], #eprefix + 1), v) then
                    if not h[3] then
                      r = 1
                    else
                      r = {h[3], h[4] or '', h[5] or '', h[6] or ''}
                    end
                  end
                end
                out[#out + 1] = r
              end
              return out
              """);

  /**
   * KEYS: clock, entry keys. ARGV: meta prefix, entry prefix, format, ttl ms, force (1 = unconditional), then per key:
   * version, codec, flags, data, tags (length-prefixed). Returns the 1-based positions of the keys written.
   */
  static final Script WRITE =
      new Script(
          PREFIX_CHECK
              + """
              local meta, eprefix, fv, ttl, force = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5] == '1'
              local written = {}
              local a = 6
              clock_now(KEYS[1], meta)
              local floor = tonumber(redis.call('GET', meta .. 'floor') or '0')
              for i = 2, #KEYS do
                local version, c, f, d, tg = tonumber(ARGV[a]), ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
                local tags = tags_of(tg)
                a = a + 5
                local key = string.sub(KEYS[i], #eprefix + 1)
                local ok = true
                if not force and version < floor then ok = false end
                if ok and not force then
                  local okv, cur = pcall(redis.call, 'HGET', KEYS[i], 'v')
                  if okv and cur and tonumber(cur) and tonumber(cur) > version then ok = false end
                  if ok and tag_newer(meta, tags, version) then ok = false end
                  if ok and prefix_newer(meta, key, version) then ok = false end
                  if ok then
                    if tonumber(redis.call('GET', meta .. 'patfloor') or '0') > version then
                      ok = false
                    else
                      for _, p in ipairs(redis.call('ZRANGEBYSCORE', meta .. 'pat', '(' .. num(version), '+inf')) do
                        if string.find(key, p) then ok = false break end
                      end
                    end
                  end
                end
                if ok then
                  local v = clock_tick(KEYS[1], meta)
                  redis.call('UNLINK', KEYS[i])
                  redis.call('HSET', KEYS[i], 'fv', fv, 'v', num(v), 'c', c, 'f', f, 'd', d, 'tg', tg)
                  redis.call('PEXPIRE', KEYS[i], ttl)
                  written[#written + 1] = i - 1
                end
              end
              return written
              """);

  /** KEYS: clock, entry key. ARGV: format, tombstone ttl ms, meta prefix. Replaces the entry with a tombstone. */
  static final Script INVALIDATE_KEY =
      new Script(
          CLOCK
              + """
          local v = clock_tick(KEYS[1], ARGV[3])
          redis.call('UNLINK', KEYS[2])
          redis.call('HSET', KEYS[2], 'fv', ARGV[1], 'v', num(v), 'f', 'x')
          redis.call('PEXPIRE', KEYS[2], ARGV[2])
          return v
          """);

  /** KEYS: lease key. ARGV: owner. Deletes the lease if the owner still holds it. */
  static final Script RELEASE_LEASE =
      new Script(
          """
          if redis.call('GET', KEYS[1]) == ARGV[1] then
            return redis.call('DEL', KEYS[1])
          end
          return 0
          """);

  /** KEYS: clock. ARGV: meta prefix, kind ('t' or 'p'), argument, memory ms. Records a tag or prefix epoch. */
  static final Script INVALIDATE_GROUP =
      new Script(
          CLOCK
              + """
          local meta, kind, arg, memory = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
          local v = clock_tick(KEYS[1], meta)
          redis.call('SET', meta .. kind .. ':' .. arg, num(v), 'PX', memory)
          if kind == 'p' then
            redis.call('SADD', meta .. 'plens', #arg)
            redis.call('PEXPIRE', meta .. 'plens', memory)
          end
          return v
          """);

  /**
   * KEYS: clock. ARGV: meta prefix, Lua pattern, memory ms, how many patterns to keep. Records a pattern so that
   * loads in flight cannot write covered keys back; the oldest patterns beyond the limit raise a floor below which
   * every conditional write is refused.
   */
  static final Script INVALIDATE_PATTERN =
      new Script(
          CLOCK
              + """
          local meta, pattern, memory, keep = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
          local v = clock_tick(KEYS[1], meta)
          redis.call('ZADD', meta .. 'pat', num(v), pattern)
          local extra = redis.call('ZCARD', meta .. 'pat') - keep
          if extra > 0 then
            local dropped = redis.call('ZRANGE', meta .. 'pat', extra - 1, extra - 1, 'WITHSCORES')
            redis.call('SET', meta .. 'patfloor', dropped[2], 'PX', memory)
            redis.call('ZREMRANGEBYRANK', meta .. 'pat', 0, extra - 1)
          end
          redis.call('PEXPIRE', meta .. 'pat', memory)
          return v
          """);
}
