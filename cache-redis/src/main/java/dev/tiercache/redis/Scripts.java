package dev.tiercache.redis;

/**
 * The Lua scripts that make each bucket's reads, conditional writes and invalidations atomic. Each script touches
 * only keys of one bucket (one hash tag), so it runs on one Cluster node. The shared functions and the meta keys are
 * in {@link LuaLib}.
 *
 * <h2>Versions</h2>
 * Each bucket has a clock in microseconds. Every write and every invalidation takes the next version,
 * {@code max(clock + 1, server time)}; a read returns the clock. An entry records its write version, a tombstone,
 * tag, prefix or pattern its invalidation version. Since a change after a read stores a version above the clock the
 * read saw, a write that presents the read's version {@code r} is refused exactly when a change covering its key has
 * a version above {@code r}, and also when:
 * <ul>
 *   <li>{@code r} is below the bucket's floor or write floor (state was lost or trimmed, see below);
 *   <li>{@code r + horizon} is below the server time: the load took longer than the tier's tombstone TTL, which is
 *       how long tombstones are kept, so a tombstone that is gone can never let it write;
 *   <li>{@code r} is above the clock: the clock went back (a restore of an older snapshot, a failover to a lagging
 *       replica), so the floor and the clock rise to the server time and every older entry becomes a miss;
 *   <li>any pattern was recorded after {@code r} (no matching inside Redis: conservative).
 * </ul>
 * The last argument of every script here is the highest version its caller has seen in the bucket ({@code 0}: none,
 * see {@link SeenVersions}). A clock below it also means the bucket went back in time: the floor and the clock rise
 * to the server time before the script does anything else.
 *
 * <h2>The end of the clock</h2>
 * Versions are exact Lua numbers, so none is above {@code 2^53 - 1} ({@link SeenVersions#MAX_VERSION}); changes take
 * at most {@code 2^53 - 2}. A clock that gets there (in practice only a planted one: a corrupt byte, a hostile write,
 * a bad snapshot; the server's time reaches it in the year 2255) has no version left for a change, and handing out
 * lower ones again would let an entry, a read or an epoch that carries one pass for newer than an invalidation that
 * covered it. So the first change that finds no version left sets the clock to {@code 2^53 - 1}, which marks the
 * bucket <em>exhausted</em> until an operator deletes its keys: {@link #READ} answers every key as a miss (and so
 * does the {@code MGET} path, see {@link BucketReply}); {@link #WRITE} writes nothing, and a forced write invalidates
 * its key instead (unlinks it, leaves a tombstone, publishes its message); {@link #INVALIDATE} applies and publishes
 * everything at {@code 2^53 - 1}, above every entry's version, so that what it covers stays covered even if the
 * bucket came back without its keys deleted (its clock set back by hand, or deleted first). The lean paths leave a
 * clock at {@code 2^53 - 3} or above to the general script, which alone decides there. The README gives the
 * operator's way out.
 */
final class Scripts {

  private Scripts() {}

  /**
   * Version of the entry layout, its first byte (see {@link EntryFormat}); an entry of another version reads as
   * unreadable, and a key of another type (a hash of layout 1) as a miss.
   */
  static final String FORMAT = "2";

  /**
   * KEYS: clock, entry keys. ARGV: meta prefix, entry prefix, most patterns returned. Returns one flat list
   * {clock, patterns, r..., time} (no list per entry, which the client would have to allocate): patterns is a flat
   * list of (pattern, version) recorded after the oldest entry found; each r is 0 (miss), 1 (unreadable), or the
   * stored string of a valid entry (see {@link EntryFormat}); time is the server's time (µs), which the clock is not
   * (it is the time of the bucket's last change, or ahead of the server's time after its node changed). The caller
   * matches the patterns. Also seeds {@code gmax} when it is missing or corrupt, so that the next reads of the bucket
   * can take the {@code MGET} path (see {@link TierReads}). An exhausted bucket answers {2^53 - 1, {}, 0..., time}.
   */
  static final Script READ =
      Script.ofBucket(
          LuaLib.CORE
              + """
              local elen, maxpat = #ARGV[2], tonumber(ARGV[3])
              -- The clock and the floor in one MGET when both are well-formed and the clock is not behind what the
              -- caller saw (the usual case); otherwise clock_now and floor_of read them again, detect a rollback and
              -- repair them. The clock first: a rollback it reveals raises the floor. Then the floor: repairing it
              -- moves the clock, and the read must return the clock after that.
              local floor
              local cf = redis.pcall('MGET', M .. 'clock', M .. 'floor')
              local c, f0 = nil, nil
              if type(cf) == 'table' and not cf.err then c, f0 = ver(cf[1]), ver(cf[2]) end
              if c and f0 and c >= SEEN then
                clock_cache, floor = c, f0
              else
                clock_now()
                floor = floor_of('floor')
              end
              -- The MGET path takes a missing floor for one of another type: write it as what it means. Both writes are
              -- only for the next reads' MGET: one Redis refuses (out of memory) does not fail this read.
              if floor == 0 and redis.call('EXISTS', M .. 'floor') == 0 then redis.pcall('SET', M .. 'floor', '0') end
              if exhausted() then
                local out = {VMAX, {}}
                for i = 2, #KEYS do out[i + 1] = 0 end
                out[#out + 1] = now_us()
                return out
              end
              -- Seeded when missing or corrupt, so that the next reads can take the MGET path.
              raise_gmax(0, true)
              local out = {clock_now(), {}}
              local oldest = nil
              for i = 2, #KEYS do
                local s = redis.pcall('GET', KEYS[i])
                local r = 0
                -- Not a string (nothing, or a hash of the previous layout): a miss, which the next write replaces.
                if type(s) == 'string' then
                  local v, tags = entry_of(s)
                  if not v then
                    r = 1
                  elseif v >= floor and not covered(tags, string.sub(KEYS[i], elen + 1), v) then
                    r = s
                    if oldest == nil or v < oldest then oldest = v end
                  end
                end
                out[#out + 1] = r
              end
              if oldest then
                out[2] = redis.pcall('ZRANGEBYSCORE', M .. 'pat', '(' .. num(oldest), '+inf', 'WITHSCORES',
                    'LIMIT', 0, maxpat + 1)
                -- Patterns that cannot be read, or more than the cap (another tier's settings): one that covers
                -- every key, newer than every entry.
                if out[2].err or #out[2] > 2 * maxpat then out[2] = {'*', '9999999999999999'} end
              end
              out[#out + 1] = now_us()
              return out
              """);

  /**
   * KEYS: clock, entry keys. ARGV: meta prefix, horizon µs, tombstone cap, entry prefix, ttl ms, force
   * (1 = unconditional), channel (empty: publish nothing), message, then per key: read version and the entry's body
   * ({@link EntryFormat#body}), and last the deadline (server µs; 0: none) past which nothing is written. Returns the clock, the server's
   * time (µs), then the 1-based positions of the keys written. An unconditional write leaves a tombstone of its
   * version, so a load that read before it is refused even after the entry expired or was evicted. An exhausted bucket
   * writes nothing and answers {2^53 - 1, time}; an unconditional write there invalidates its key instead.
   */
  static final Script WRITE =
      Script.ofBucket(
          LuaLib.lean(
              LuaLib.TOMBSTONES
              + """
              local elen, ttl, force = #ARGV[4], tonumber(ARGV[5]), ARGV[6] == '1'
              local now = now_us()
              local deadline = ver(ARGV[#ARGV - 1]) or 0
              -- In an exhausted bucket a forced write only invalidates its key, which may land late: an invalidation
              -- applied late costs at most a miss.
              if deadline > 0 and now > deadline and not exhausted() then
                -- Its caller stopped waiting and reported it failed; landing now could overwrite a newer write.
                return {clock_now(), now}
              end
              local function below_floor(r)
                return r < floor_of('floor') or r < floor_of('wfloor')
              end
              -- Why a conditional write of the key, whose load read version r, must be refused (nil: it may go).
              local function refused(r, key, entry_key, tags)
                if not r then return 'no version' end
                if r > clock_now() then
                  -- The clock went back: nothing checked before now can be trusted.
                  raise('floor', math.max(now, clock_now() + 1))
                  return 'rollback'
                end
                if below_floor(r) or r + HORIZON < now then return 'too old' end
                if (ver(on('ts', 'ZSCORE', key)) or 0) > r then return 'tombstone' end
                if version_at(entry_key) > r then return 'rewritten' end
                if covered(tags, key, r) then return 'epoch' end
                if on('pat', 'ZCOUNT', '(' .. num(r), '+inf') > 0 then return 'pattern' end
                -- Checked again: a structure repaired above raised the floor.
                if below_floor(r) then return 'state lost' end
                return nil
              end
              local written, added = {}, false
              local a = 9
              for i = 2, #KEYS do
                local r, body = ver(ARGV[a]), ARGV[a + 1]
                a = a + 2
                local key = string.sub(KEYS[i], elen + 1)
                local tags = body_tags(body, 1)
                if tags ~= nil and (force or not (exhausted() or refused(r, key, KEYS[i], tags))) then
                  local v = clock_tick()
                  if v then
                    redis.call('SET', KEYS[i], FV .. string.format('%016.0f', v) .. body, 'PX', ttl)
                    if force and tombstone(key, v) then added = true end
                    written[#written + 1] = i - 1
                  elseif force then
                    -- Exhausted: dropped, as every write here, but the entry it replaces goes, and the reply and the
                    -- message tell the caller and the other instances so: a key invalidation at the last version.
                    redis.call('UNLINK', KEYS[i])
                    if tombstone(key, VMAX) then added = true end
                  end
                end
              end
              if #written > 0 then
                local longest = getv(M .. 'maxttl')
                if not longest or ttl > longest then redis.call('SET', M .. 'maxttl', num(ttl)) end
              end
              if added then trim_tombstones() end
              -- The message ends with '@<bucket>:' and takes the bucket's clock (see BusFrames.announcement).
              if ARGV[7] ~= '' then redis.call('PUBLISH', ARGV[7], ARGV[8] .. num(clock_now())) end
              table.insert(written, 1, now)
              table.insert(written, 1, clock_now())
              return written
              """,
              """
              -- One key whose body has no tags (tags are general()'s to parse), in a bucket in its usual state.
              if #KEYS ~= 2 or #ARGV ~= 12 then return general() end
              local force, body = ARGV[6] == '1', ARGV[10]
              local flag, cl = string.sub(body, 1, 1), ver(string.sub(body, 2, 4))
              if (flag ~= 'v' and flag ~= 'a') or not cl or cl < 1 or string.sub(body, 5, 11) ~= '0000000'
                  or 11 + cl > #body then
                return general()
              end
              local s = redis.call('MGET', KEYS[1], M .. 'floor', M .. 'wfloor', M .. 'gmax', M .. 'maxttl')
              local c = fast_clock(s[1])
              if not c then return general() end
              local now = time_us()
              local deadline = ver(ARGV[11]) or 0
              if deadline > 0 and now > deadline then return general() end
              local key = string.sub(KEYS[2], #ARGV[4] + 1)
              if not force then
                -- Whatever might refuse the write is general()'s to judge; this path only lets through what it
                -- would. A read at or after gmax is covered by no tag, prefix or pattern: gmax is at least each of
                -- their versions (see raise_gmax), so neither the epochs nor the patterns need reading.
                local r, f, wf, top = ver(ARGV[9]), ver(s[2]), ver(s[3]), ver(s[4])
                if not r or r > c or r + HORIZON < now or not top or r < top then return general() end
                if (s[2] and not f) or (s[3] and not wf) then return general() end
                -- A floor absent from the MGET is missing (0) or of another type, which general() repairs: EXISTS
                -- counts only the keys that exist. Missing, it is written as what it means, so that the next writes'
                -- MGET tells (only for them: one that Redis refuses, out of memory, does not fail this write).
                if not (f and wf) then
                  if redis.call('EXISTS', M .. 'floor', M .. 'wfloor') ~= (f and 1 or 0) + (wf and 1 or 0) then
                    return general()
                  end
                  if not f then redis.pcall('SET', M .. 'floor', '0') end
                  if not wf then redis.pcall('SET', M .. 'wfloor', '0') end
                end
                if r < (f or 0) or r < (wf or 0) then return general() end
                local t = redis.pcall('ZSCORE', M .. 'ts', key)
                if t and (type(t) ~= 'string' or (ver(t) or r + 1) > r) then return general() end
                -- A header newer than the read: general() also checks the entry's length before it refuses.
                local h = redis.pcall('GETRANGE', KEYS[2], 0, 27)
                if type(h) == 'string' and #h >= 28 and string.sub(h, 1, 1) == FV
                    and (ver(string.sub(h, 2, 17)) or 0) > r then
                  return general()
                end
              end
              local v = fast_tick(c, now)
              if force and not fast_tombstone(key, v, now) then return general() end
              redis.call('SET', KEYS[2], FV .. string.format('%016.0f', v) .. body, 'PX', ARGV[5])
              local ttl, longest = tonumber(ARGV[5]), ver(s[5])
              if not longest or ttl > longest then redis.call('SET', M .. 'maxttl', num(ttl)) end
              if ARGV[7] ~= '' then redis.call('PUBLISH', ARGV[7], ARGV[8] .. num(v)) end
              return {v, now, 1}
              """));

  /**
   * KEYS: clock, the entry keys of the key invalidations. ARGV: meta prefix, horizon µs, tombstone cap, epoch cap,
   * prefix-length cap, pattern cap, channel (empty: publish nothing), message, longest allowed TTL ms, then pairs of
   * kind and argument:
   * {@code k} and the 1-based index of the entry key, {@code t} and a tag, {@code p} and a prefix, {@code P} and a
   * pattern, {@code a} and nothing. Applies them in order, trims the bucket's state, and publishes the message last.
   * Epochs and patterns are kept {@code max(horizon, longest TTL) + 1 s}: after that no entry they cover is left and
   * no write they must refuse can pass. Past a cap the oldest go and the floor rises to the newest of them. In an
   * exhausted bucket every change is applied at 2^53 - 1, which the reply and the message carry.
   */
  static final Script INVALIDATE =
      Script.ofBucket(
          LuaLib.lean(
              LuaLib.TOMBSTONES
              + """
              local MAX_G, MAX_PL, MAX_PAT = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
              local v = 0
              local keys_added, groups_touched = false, false
              for a = 10, #ARGV - 2, 2 do
                local kind, arg = ARGV[a], ARGV[a + 1]
                -- Exhausted (nil), the change takes the last version, above every entry's (see exhausted), and its
                -- message carries it to the other instances.
                v = clock_tick() or VMAX
                if kind == 'k' then
                  local ek = KEYS[tonumber(arg)]
                  redis.call('UNLINK', ek)
                  if tombstone(string.sub(ek, #M + 1), v) then keys_added = true end
                elseif kind == 't' or kind == 'p' then
                  local field = kind .. ':' .. arg
                  on('g', 'HSET', field, num(v))
                  on('gx', 'ZADD', num(v), field)
                  if kind == 'p' then on('plens', 'ZADD', num(v), #arg) end
                  groups_touched = true
                elseif kind == 'P' then
                  on('pat', 'ZADD', num(v), arg)
                  groups_touched = true
                elseif kind == 'a' then
                  raise('floor', v)
                end
              end
              if keys_added then trim_tombstones() end
              if groups_touched then
                -- v is the newest version of the script: entries read by MGET must be newer to need no check.
                raise_gmax(v)
                -- Without a record of the longest TTL (lost), assume the longest allowed.
                local longest = (getv(M .. 'maxttl') or tonumber(ARGV[9])) * 1000
                local kept = now_us() - math.max(HORIZON, longest) - 1000000
                local cut = '(' .. num(kept)
                local old = on('gx', 'ZRANGEBYSCORE', '-inf', cut, 'LIMIT', 0, 500)
                if #old > 0 then
                  on('g', 'HDEL', unpack(old))
                  redis.call('ZREM', M .. 'gx', unpack(old))
                end
                local trimmed = #old + on('plens', 'ZREMRANGEBYSCORE', '-inf', cut)
                    + on('pat', 'ZREMRANGEBYSCORE', '-inf', cut)
                -- Kept by this tier's horizon: a tier whose horizon is longer may have a load in flight that read
                -- before what was dropped, so the write floor rises to the cut (for tiers of one horizon a read
                -- older than it is too old anyway).
                if trimmed > 0 then raise('wfloor', kept) end
                local function cap(zset, max, fields)
                  local extra = redis.call('ZCARD', M .. zset) - max
                  if extra <= 0 then return end
                  local popped = redis.call('ZPOPMIN', M .. zset, extra)
                  if fields then
                    for i = 1, #popped, 2 do redis.call('HDEL', M .. 'g', popped[i]) end
                  end
                  raise('floor', ver(popped[#popped]) or now_us())
                end
                cap('gx', MAX_G, true)
                cap('plens', MAX_PL, false)
                cap('pat', MAX_PAT, false)
              end
              -- The message ends with '@<bucket>:' and takes the version of the change (see BusFrames.announcement).
              if ARGV[7] ~= '' then redis.call('PUBLISH', ARGV[7], ARGV[8] .. num(v)) end
              return v
              """,
              """
              -- One key invalidation (KEYS[2]), in a bucket in its usual state.
              if #ARGV ~= 12 or ARGV[10] ~= 'k' or ARGV[11] ~= '2' or #KEYS ~= 2 then return general() end
              local c = fast_clock(redis.pcall('GET', KEYS[1]))
              if not c then return general() end
              local now = time_us()
              local v = fast_tick(c, now)
              if not fast_tombstone(string.sub(KEYS[2], #M + 1), v, now) then return general() end
              redis.call('UNLINK', KEYS[2])
              if ARGV[7] ~= '' then redis.call('PUBLISH', ARGV[7], ARGV[8] .. num(v)) end
              return v
              """));

  /**
   * KEYS: clock, entry keys the JVM matched against the pattern. ARGV: meta prefix, pattern. Unlinks those written
   * before the pattern was recorded (or before the floor); an entry written after it is left alone. Returns how many
   * it unlinked.
   */
  static final Script SWEEP =
      Script.ofBucket(
          LuaLib.CORE
              + """
              clock_now()
              local recorded = ver(redis.pcall('ZSCORE', M .. 'pat', ARGV[2])) or 0
              local before = math.max(recorded, floor_of('floor'))
              local n = 0
              for i = 2, #KEYS do
                if version_at(KEYS[i]) < before then
                  n = n + redis.call('UNLINK', KEYS[i])
                end
              end
              return n
              """);

  /**
   * KEYS: the lease. ARGV: owner, TTL ms. Returns 1 when the lease is taken or already the owner's (a replayed take
   * after a reconnect finds its first run's lease), else 0.
   */
  static final Script TAKE_LEASE =
      new Script(
          """
          if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
          if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
          return 0
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
}
