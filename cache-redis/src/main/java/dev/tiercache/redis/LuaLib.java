package dev.tiercache.redis;

/**
 * The Lua that every script of a bucket shares: strict parsing, the clock and its floors, and the look-up of the
 * invalidation epochs that cover an entry. Every function here is linear in its input: nothing a caller passes and
 * nothing read back from Redis is ever used as a Lua pattern, and every loop advances by at least one byte or one
 * element per step.
 *
 * <p>Meta keys of a bucket (prefix {@code M}, see {@link KeySpace}): {@code clock}, {@code floor} (entries older are
 * misses, writes whose read is older are refused), {@code wfloor} (writes whose read is older are refused),
 * {@code maxttl} (longest entry TTL ever written, ms), {@code ts} (zset key to tombstone version), {@code g} (hash
 * {@code t:<tag>} / {@code p:<prefix>} to epoch), {@code gx} (zset of the same fields by epoch, for trimming),
 * {@code plens} (zset prefix length to newest epoch), {@code pat} (zset pattern to version), {@code gmax} (at least
 * the newest tag, prefix or pattern version: an entry written after it is covered by none, which a plain
 * {@code MGET} can tell). None of them carries a
 * TTL, so a {@code volatile-*} eviction policy never removes them; the scripts trim them themselves.
 *
 * <p>The clock: versions are exact Lua numbers up to {@code VMAX = 2^53 - 1}. A change takes at most
 * {@code VMAX - 1}; a clock at {@code VMAX} marks the bucket exhausted ({@code exhausted()}), decided only by the
 * general scripts: reads miss, writes are dropped, and invalidations are applied at {@code VMAX}, until an operator
 * deletes the bucket's keys (see {@link Scripts}, "The end of the clock"). The clock never restarts lower by itself.
 */
final class LuaLib {

  private LuaLib() {}

  /** Printing and strict parsing of versions, which the lean paths of {@link #lean} need as well. */
  static final String NUMBERS =
      """
      local FV = '@FORMAT@'
      -- The largest version, 2^53 - 1: beyond, Lua's numbers are not exact, and the clock would tick to a 17-digit
      -- figure it then reads as corrupt.
      local VMAX = @VMAX@
      local function num(n)
        -- Lua prints numbers with 14 digits; versions have 16.
        return string.format('%.0f', n)
      end
      -- A well-formed version: 1 to 16 decimal digits, nothing else, at most VMAX; nil for anything else.
      local function ver(s)
        if type(s) ~= 'string' or #s == 0 or #s > 16 or string.find(s, '%D') then return nil end
        local n = tonumber(s)
        if n > VMAX then return nil end
        return n
      end
      """
          .replace("@FORMAT@", Scripts.FORMAT)
          .replace("@VMAX@", Long.toString(SeenVersions.MAX_VERSION));

  /**
   * First in every bucket script on a Redis Cluster ({@link Script#ofBucket}; ARGV[1] is the bucket's meta prefix):
   * refuses to run, with a {@code TRYAGAIN}
   * error and before touching anything, while the bucket's slot is being migrated. A script reads and writes state
   * keys it does not declare (the floors, tombstones, epochs, patterns), and while the slot moves key by key a node
   * holds only some of them: the importing node, which runs a script after {@code ASKING} when it holds every
   * declared key, reads one still on the source as absent (an epoch or tombstone that covered the entry missed), and
   * the migrating node answers an error for one already moved, which {@code redis.pcall} would hand back as a value.
   * Two keys that never exist tell, in one command: in a stable slot {@code EXISTS} counts 0; where the slot is
   * migrating it fails (ASK), and where it is importing it fails too (TRYAGAIN: a multi-key command whose keys are
   * not all there). Reads by {@code MGET} need no such guard: they read only keys they name, and Redis serves a
   * multi-key command during a migration only where all its keys are.
   */
  static final String STABLE =
      """
      if type(redis.pcall('EXISTS', ARGV[1] .. '~1', ARGV[1] .. '~2')) ~= 'number' then
        return redis.error_reply('TRYAGAIN the slot of this bucket is being migrated')
      end
      """;

  /** The clock, its floors and the look-ups of epochs, after {@link #NUMBERS}. */
  private static final String LIBRARY =
      """
      local M = ARGV[1]
      local clock_cache = nil
      -- The last argument of every script: the highest version its caller has seen in this bucket (see SeenVersions).
      local SEEN = ver(ARGV[#ARGV]) or 0
      local now_cache = nil
      local function now_us()
        if now_cache == nil then
          local t = redis.call('TIME')
          now_cache = tonumber(t[1]) * 1000000 + tonumber(t[2])
        end
        return now_cache
      end
      local function getv(key)
        local r = redis.pcall('GET', key)
        if type(r) ~= 'string' then return nil, r end
        return ver(r), r
      end
      local clock_now
      -- A floor above the clock would refuse every write until something ticked it: the clock follows the floor.
      local function follow(f)
        if f > clock_now() then
          redis.call('SET', M .. 'clock', num(f))
          clock_cache = f
        end
      end
      -- A floor that is present but unreadable is repaired to now: nothing older can be trusted.
      local function floor_of(name)
        local f, raw = getv(M .. name)
        if f then return f end
        if raw == false then return 0 end
        f = now_us()
        redis.call('SET', M .. name, num(f))
        follow(f)
        return f
      end
      local function raise(name, f)
        if f > floor_of(name) then redis.call('SET', M .. name, num(f)) end
        follow(f)
      end
      -- A command on one of the bucket's structures. If the key holds something else (another program's value), what
      -- it held is lost: it is replaced, and the floor rises, since nothing older can be trusted.
      local function on(name, cmd, ...)
        local r = redis.pcall(cmd, M .. name, ...)
        if type(r) == 'table' and r.err then
          redis.call('DEL', M .. name)
          raise('floor', now_us())
          r = redis.call(cmd, M .. name, ...)
        end
        return r
      end
      -- The clock. Missing (new bucket, restart, flush, eviction) or corrupt, it re-seeds from the server's time in
      -- microseconds, and the seed becomes the floor: what was checked against the lost state is refused or a miss.
      function clock_now()
        if clock_cache then return clock_cache end
        local c = getv(M .. 'clock')
        if not c then
          c = math.max(now_us(), floor_of('floor'))
          redis.call('SET', M .. 'clock', num(c))
          raise('floor', c)
        elseif c < SEEN then
          -- Behind a version the caller saw: the bucket went back in time (an older snapshot, a lagging replica), so
          -- it may hold entries that invalidations already returned for. Nothing older than now can be trusted. A
          -- caller that saw the last version leaves the bucket exhausted: past it the clock would read as corrupt.
          c = math.min(math.max(now_us(), SEEN + 1), VMAX)
          redis.call('SET', M .. 'clock', num(c))
          raise('floor', c)
        end
        clock_cache = c
        return c
      end
      -- A bucket whose clock is at VMAX is exhausted: it has no version left to give a change, and restarting the
      -- clock lower would hand out versions that entries, reads and epochs already carry, so nothing older could be
      -- told from what comes after. Until an operator deletes its keys, its reads miss and its writes are dropped;
      -- its invalidations record at VMAX, above every entry's version, so that they still cover what they name if the
      -- bucket ever came back without its keys deleted (its clock set back by hand, or deleted first).
      local function exhausted()
        return clock_now() >= VMAX
      end
      -- Versions never go backwards: the next version is max(clock + 1, server time), at most VMAX - 1 (VMAX only
      -- marks the end). nil when none is left: the clock is then at VMAX, the bucket exhausted.
      local function clock_tick()
        local c = clock_now()
        if c >= VMAX - 1 then
          if c < VMAX then
            redis.call('SET', M .. 'clock', num(VMAX))
            clock_cache = VMAX
          end
          return nil
        end
        local v = math.min(math.max(c + 1, now_us()), VMAX - 1)
        redis.call('SET', M .. 'clock', num(v))
        clock_cache = v
        return v
      end
      -- Tags travel as one field of length-prefixed strings ("3:abc5:hello"): 1 to 7 digits without a leading zero, a
      -- colon, that many bytes. Anything else (a sign, a space, a length past the end, an empty tag) is nil.
      local function tags_of(s)
        if type(s) ~= 'string' then return nil end
        local tags, i, n = {}, 1, #s
        while i <= n do
          local j = i
          while j <= n and j - i < 7 do
            local b = string.byte(s, j)
            if b < 48 or b > 57 then break end
            j = j + 1
          end
          if j == i or string.byte(s, i) == 48 or j > n or string.byte(s, j) ~= 58 then return nil end
          local len = tonumber(string.sub(s, i, j - 1))
          if len < 1 or j + len > n then return nil end
          tags[#tags + 1] = string.sub(s, j + 1, j + len)
          i = j + len + 1
        end
        return tags
      end
      -- An entry is one string (see EntryFormat): format, 16-digit version, then the body the JVM sends: flag, codec
      -- id length (3 digits), tags length (7 digits), codec id, tags, value. The tags of the body at s[o], or nil if it
      -- is malformed. Fixed-width fields: no loop but the one over the tags.
      local function body_tags(s, o)
        local flag = string.sub(s, o, o)
        local cl, tl = ver(string.sub(s, o + 1, o + 3)), ver(string.sub(s, o + 4, o + 10))
        if (flag ~= 'v' and flag ~= 'a') or not cl or not tl or cl < 1 or o + 10 + cl + tl > #s then return nil end
        return tags_of(string.sub(s, o + 11 + cl, o + 10 + cl + tl))
      end
      -- The version and tags of a stored entry, or nil if it is not a well-formed entry of this format.
      local function entry_of(s)
        if type(s) ~= 'string' or #s < 28 or string.sub(s, 1, 1) ~= FV then return nil end
        local v = ver(string.sub(s, 2, 17))
        if not v then return nil end
        local tags = body_tags(s, 18)
        if not tags then return nil end
        return v, tags
      end
      -- The version of the entry a key holds; 0 for anything without a well-formed header (nothing, another type, a
      -- corrupt string), which is older than every read: a corrupt version must not block the writes that replace it.
      -- Reads the header alone: a conditional write or a sweep must not copy a large value into Lua.
      local function version_at(key)
        local h = redis.pcall('GETRANGE', key, 0, 27)
        if type(h) ~= 'string' or #h < 28 or string.sub(h, 1, 1) ~= FV then return 0 end
        local v, flag = ver(string.sub(h, 2, 17)), string.sub(h, 18, 18)
        local cl, tl = ver(string.sub(h, 19, 21)), ver(string.sub(h, 22, 28))
        if not v or (flag ~= 'v' and flag ~= 'a') or not cl or not tl or cl < 1 then return 0 end
        if 28 + cl + tl > redis.call('STRLEN', key) then return 0 end
        return v
      end
      -- gmax (see TierReads): at least every tag, prefix and pattern version the bucket records, raised to v here and
      -- never lowered: a clock re-seeded below an epoch still recorded (lost while it ran ahead of the server's time)
      -- hands out versions below that epoch, and a gmax set to one of them would let the MGET serve what the epoch
      -- covers. Missing or corrupt (a bucket from before gmax existed, a restart), it is seeded from the clock and
      -- the newest epoch and pattern. A read only seeds it (soft): a write Redis refuses (out of memory) must not fail
      -- the read, which then leaves the next reads to the script as before.
      local function raise_gmax(v, soft)
        local top = getv(M .. 'gmax')
        if top and v <= top then return end
        if not top then
          top = clock_now()
          for _, z in ipairs({'gx', 'pat'}) do
            local r = redis.pcall('ZRANGE', M .. z, -1, -1, 'WITHSCORES')
            if type(r) == 'table' and not r.err and r[2] then top = math.max(top, tonumber(r[2]) or top) end
          end
        end
        (soft and redis.pcall or redis.call)('SET', M .. 'gmax', num(math.max(top, v)))
      end
      -- The invalidated prefix lengths, read once per script; bounded by the per-bucket cap.
      -- A structure that cannot be read covers everything: a miss or a refusal, never a stale hit.
      local plens_cache, plens_broken = nil, false
      local function plens()
        if plens_cache == nil then
          local r = redis.pcall('ZRANGE', M .. 'plens', 0, -1)
          plens_cache = {}
          if type(r) ~= 'table' or r.err then
            plens_broken = true
          else
            for _, l in ipairs(r) do
              local n = ver(l)
              if n then plens_cache[#plens_cache + 1] = n else plens_broken = true end
            end
          end
        end
        return plens_cache
      end
      -- Whether a tag of the entry, or a prefix of its key, was invalidated after version v: one HMGET.
      local function covered(tags, key, v)
        local fields = {}
        for _, t in ipairs(tags) do fields[#fields + 1] = 't:' .. t end
        for _, l in ipairs(plens()) do
          if l <= #key then fields[#fields + 1] = 'p:' .. string.sub(key, 1, l) end
        end
        if plens_broken then return true end
        -- In chunks: unpack is bounded by Lua's stack.
        for first = 1, #fields, 500 do
          local epochs = redis.pcall('HMGET', M .. 'g', unpack(fields, first, math.min(first + 499, #fields)))
          if type(epochs) ~= 'table' or epochs.err then return true end
          for _, e in ipairs(epochs) do
            local n = ver(e)
            if n and n > v then return true end
          end
        end
        return false
      end
      """;

  /**
   * Numbers, strict parsing and the clock. Sets nothing global but {@code M}, the meta prefix, set by each script.
   */
  static final String CORE = NUMBERS + LIBRARY;

  /**
   * A script whose usual case runs without the library. In Redis 6.2 a script pays on every call for every closure
   * its body creates: the ~20 of {@link #CORE} cost an otherwise empty script 3 to 6 µs (INFO commandstats on
   * 6.2.6), and the lean paths, with fewer commands too, took 17 to 26 % off the Redis time of a key invalidation,
   * a put and a conditional write. The general script is wrapped in a function, which costs nothing until called; {@code fast} handles the usual state with a few helpers of its
   * own and returns {@code general()} for anything else. It may do so after ticking the clock or leaving a tombstone
   * (the general script does both again, and both only ever refuse more), never after a change that the general
   * script's verdict could contradict (an entry written, a message published).
   *
   * @param general the script's whole body after {@link #CORE}, returning its reply
   * @param fast the fast path, after {@link #NUMBERS} and the helpers; returns the same reply as {@code general}
   */
  static String lean(String general, String fast) {
    return NUMBERS + "local function general()\n" + LIBRARY + general + "end\n" + FAST + fast;
  }

  /**
   * The helpers of the fast paths (see {@link #lean}), for the scripts whose ARGV[1] is the meta prefix, ARGV[2] the
   * horizon, ARGV[3] the tombstone cap and whose KEYS[1] is the clock.
   */
  private static final String FAST =
      """
      local M, HORIZON = ARGV[1], tonumber(ARGV[2])
      -- The clock when well-formed, not behind what the caller saw and with two versions left; nil: general() repairs
      -- or re-seeds it, or ends the clock (see exhausted), so that only one place decides what happens there. Two: a
      -- fast path may tick and then hand over, and general() ticks again; from VMAX - 2 the second tick would find no
      -- version left and end a bucket the general script alone leaves working.
      local function fast_clock(raw)
        local c = ver(raw)
        if c and c < VMAX - 2 and c >= (ver(ARGV[#ARGV]) or 0) then return c end
        return nil
      end
      local function time_us()
        local t = redis.call('TIME')
        return tonumber(t[1]) * 1000000 + tonumber(t[2])
      end
      -- As clock_tick: max(clock + 1, server time), at most VMAX - 1 (fast_clock left a clock below VMAX - 2).
      local function fast_tick(c, now)
        local v = math.min(math.max(c + 1, now), VMAX - 1)
        redis.call('SET', KEYS[1], num(v))
        return v
      end
      -- As tombstone() then, for a new one, trim_tombstones(); false when the set is of another type or a new
      -- tombstone takes it past its cap, which general() repairs or trims (raising the write floor). Past the cap the
      -- new tombstone is taken back first: general() then adds it itself, and trims as it does for every new one.
      local function fast_tombstone(key, v, now)
        local added = redis.pcall('ZADD', M .. 'ts', num(v), key)
        if type(added) ~= 'number' then return false end
        if added == 0 then return true end
        local cut = '(' .. num(now - HORIZON)
        -- As trim_tombstones: the write floor rises to the newest tombstone trimmed by age (another tier may keep
        -- them longer); a write floor general() must repair, or a score it cannot read, is general()'s.
        -- The newest below the cut is the last of those below it (ZCOUNT and ZRANGE: commands the README's ACL grants).
        local n = redis.call('ZCOUNT', M .. 'ts', '-inf', cut)
        local gone = n > 0 and redis.call('ZRANGE', M .. 'ts', n - 1, n - 1, 'WITHSCORES') or {}
        if gone[2] then
          local t, wraw = ver(gone[2]), redis.pcall('GET', M .. 'wfloor')
          local wf = ver(wraw)
          if not t or (wraw and not wf) then
            redis.call('ZREM', M .. 'ts', key)
            return false
          end
          if t > (wf or 0) then redis.call('SET', M .. 'wfloor', num(t)) end
          redis.call('ZREMRANGEBYSCORE', M .. 'ts', '-inf', cut)
        end
        if redis.call('ZCARD', M .. 'ts') <= tonumber(ARGV[3]) then return true end
        redis.call('ZREM', M .. 'ts', key)
        return false
      end
      """;

  /**
   * Tombstones and their trimming: a tombstone lives until {@code version + horizon} in server time, the horizon
   * beyond which every conditional write is refused anyway; past the per-bucket cap the oldest go, and the write
   * floor rises to the newest of them. The set is trimmed when a key gets its first tombstone, the only change that
   * grows it: a key whose tombstone only moves (a hot key written or invalidated again) costs one {@code ZADD}, not
   * three commands. An expired tombstone left in place meanwhile refuses only writes whose read is older than the
   * horizon, which are refused anyway, and the set never holds more than the largest cap of the tiers that add to
   * it. ARGV[2]: horizon in microseconds; ARGV[3]: tombstone cap.
   */
  static final String TOMBSTONES =
      """
      local HORIZON, MAX_TS = tonumber(ARGV[2]), tonumber(ARGV[3])
      -- Whether the key had no tombstone, so the set grew and must be trimmed.
      local function tombstone(key, v)
        return on('ts', 'ZADD', num(v), key) == 1
      end
      -- Trimmed by age, the write floor rises to the newest tombstone dropped: a tier whose horizon is longer (another
      -- instance's settings, a rolling change of them) may still have a load in flight that read before it. For
      -- tiers of one horizon it refuses nothing more: a read older than a tombstone past the horizon is too old.
      local function trim_tombstones()
        local cut = '(' .. num(now_us() - HORIZON)
        local n = on('ts', 'ZCOUNT', '-inf', cut)
        local gone = n > 0 and redis.call('ZRANGE', M .. 'ts', n - 1, n - 1, 'WITHSCORES') or {}
        if gone[2] then
          redis.call('ZREMRANGEBYSCORE', M .. 'ts', '-inf', cut)
          raise('wfloor', ver(gone[2]) or now_us())
        end
        local extra = redis.call('ZCARD', M .. 'ts') - MAX_TS
        if extra > 0 then
          local popped = redis.call('ZPOPMIN', M .. 'ts', extra)
          raise('wfloor', ver(popped[#popped]) or now_us())
        end
      end
      """;
}
