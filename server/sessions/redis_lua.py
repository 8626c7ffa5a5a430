"""The Lua scripts of the Redis session store: each store operation is one atomic script.

Layout under the deployment's prefix P (several deployments share one Redis by prefix):

    P s:<session id>   hash   owner, version, data (Session JSON), exp, lease, lease_until
    P sa:<session id>  set    the aliases bound to the session (for deletes and TTL refreshes)
    P a:<alias>        string the session id an alias (Responses response id) names

Times are the caller's clock (seconds, passed in ARGV) so every backend runs the one conformance
suite on a fake clock; liveness is decided by `exp` / `lease_until` in the hash, exactly like the
SQLite store. Redis' own expiry (PEXPIRE) only collects the garbage, a grace period after the
logical expiry, so a worker whose clock runs a little ahead never sees a key vanish early.

Keys are derived inside the scripts from the prefix, which Redis Cluster does not allow: the store
targets one Redis (with replicas / Sentinel for availability), not a cluster.
"""

from __future__ import annotations

__all__ = ["COMMON", "ACQUIRE", "CREATE", "SAVE", "RELEASE", "DELETE", "BIND_ALIAS", "RESOLVE_ALIAS"]

# Helpers shared by the scripts (prepended to each; Lua has no imports in EVAL).
COMMON = r"""
local function num(x) return tonumber(x) or 0 end
local function fmt(x) return string.format('%.17g', x) end
local function is_live(exp, lease, lease_until, now)
  return num(exp) > now or (lease ~= nil and lease ~= false and lease ~= '' and num(lease_until) > now)
end
local function is_leased(lease, lease_until, now)
  return lease ~= nil and lease ~= false and lease ~= '' and num(lease_until) > now
end
local function drop(skey, akey, prefix, sid)
  for _, alias in ipairs(redis.call('SMEMBERS', akey)) do
    local akey2 = prefix .. 'a:' .. alias
    if redis.call('GET', akey2) == sid then redis.call('DEL', akey2) end
  end
  redis.call('DEL', akey, skey)
end
local function expire_all(skey, akey, prefix, sid, ms)
  redis.call('PEXPIRE', skey, ms)
  if redis.call('PEXPIRE', akey, ms) == 1 then
    for _, alias in ipairs(redis.call('SMEMBERS', akey)) do
      local akey2 = prefix .. 'a:' .. alias
      if redis.call('GET', akey2) == sid then redis.call('PEXPIRE', akey2, ms) end
    end
  end
end
local function gc_ms(until_, now, grace_ms)
  return math.max(1, math.ceil((until_ - now) * 1000)) + grace_ms
end
"""

# KEYS: session, aliases. ARGV: now, owner, token, lease_seconds, prefix, sid, grace_ms.
# -> {0} none (unknown, expired or foreign) | {1} busy | {2, version, data}
ACQUIRE = COMMON + r"""
local now = tonumber(ARGV[1])
local h = redis.call('HMGET', KEYS[1], 'owner', 'version', 'data', 'exp', 'lease', 'lease_until')
if not h[1] then return {0} end
if not is_live(h[4], h[5], h[6], now) then
  drop(KEYS[1], KEYS[2], ARGV[5], ARGV[6])
  return {0}
end
if h[1] ~= ARGV[2] then return {0} end
if is_leased(h[5], h[6], now) then return {1} end
local until_ = now + tonumber(ARGV[4])
local exp = math.max(num(h[4]), until_)
redis.call('HSET', KEYS[1], 'lease', ARGV[3], 'lease_until', fmt(until_), 'exp', fmt(exp))
expire_all(KEYS[1], KEYS[2], ARGV[5], ARGV[6], gc_ms(exp, now, tonumber(ARGV[7])))
return {2, h[2], h[3]}
"""

# KEYS: session, aliases. ARGV: now, owner, version, data, exp, token, lease_until, prefix, sid,
# grace_ms. -> 0 exists | 1 created (and leased)
CREATE = COMMON + r"""
local now = tonumber(ARGV[1])
local h = redis.call('HMGET', KEYS[1], 'exp', 'lease', 'lease_until')
if h[1] and is_live(h[1], h[2], h[3], now) then return 0 end
drop(KEYS[1], KEYS[2], ARGV[8], ARGV[9])  -- an expired session with this id, and its aliases
local exp = math.max(tonumber(ARGV[5]), tonumber(ARGV[7]))
redis.call('HSET', KEYS[1], 'owner', ARGV[2], 'version', ARGV[3], 'data', ARGV[4],
  'exp', fmt(exp), 'lease', ARGV[6], 'lease_until', ARGV[7])
redis.call('PEXPIRE', KEYS[1], gc_ms(exp, now, tonumber(ARGV[10])))
return 1
"""

# KEYS: session, aliases. ARGV: now, version, lease ('' for none), data, ttl, prefix, sid,
# grace_ms. -> {0} gone | {1, stored version} version moved | {2} busy | {3} saved
SAVE = COMMON + r"""
local now = tonumber(ARGV[1])
local h = redis.call('HMGET', KEYS[1], 'version', 'exp', 'lease', 'lease_until')
if not h[1] or not is_live(h[2], h[3], h[4], now) then return {0} end
if tonumber(h[1]) ~= tonumber(ARGV[2]) then return {1, h[1]} end
if is_leased(h[3], h[4], now) and h[3] ~= ARGV[3] then return {2} end
local exp = math.max(now + tonumber(ARGV[5]), num(h[4]))
redis.call('HSET', KEYS[1], 'version', tostring(tonumber(ARGV[2]) + 1), 'data', ARGV[4], 'exp', fmt(exp))
expire_all(KEYS[1], KEYS[2], ARGV[6], ARGV[7], gc_ms(exp, now, tonumber(ARGV[8])))
return {3}
"""

# KEYS: session. ARGV: lease ('' = whichever). Drops the lease only; changes nothing else.
RELEASE = r"""
local current = redis.call('HGET', KEYS[1], 'lease')
if current and (ARGV[1] == '' or current == ARGV[1]) then
  redis.call('HSET', KEYS[1], 'lease', '', 'lease_until', '0')
end
return 0
"""

# KEYS: session, aliases. ARGV: prefix, sid.
DELETE = COMMON + r"""
drop(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
return 0
"""

# KEYS: alias, aliases (of the session), session. ARGV: alias, sid, grace_ms.
BIND_ALIAS = r"""
local ttl = redis.call('PTTL', KEYS[3])
if ttl < 0 then ttl = tonumber(ARGV[3]) end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ttl)
return 0
"""

# KEYS: alias. ARGV: now, prefix. -> the live session id, or false
RESOLVE_ALIAS = COMMON + r"""
local sid = redis.call('GET', KEYS[1])
if not sid then return false end
local h = redis.call('HMGET', ARGV[2] .. 's:' .. sid, 'exp', 'lease', 'lease_until')
if not h[1] or not is_live(h[1], h[2], h[3], tonumber(ARGV[1])) then
  redis.call('DEL', KEYS[1])
  return false
end
return sid
"""
