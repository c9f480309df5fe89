-- refresh: SessionRecord::refresh (src/store/record.rs), step for step, in one atomic script.
-- KEYS[1]: the session hash.
-- ARGV: 1 presented refresh jti, 2 now, 3-5 new access jti/iat/exp,
--       6-8 new refresh jti/iat/exp (all '' when rotation is off), 9 grace, 10 leeway,
--       11 theft detection ('1' on), 12 the refresh time to record.
-- Times to record (3-8, 12) come already clamped as SessionRecord keeps them (u32 seconds, the
-- refresh time at least 1); now, grace and leeway are compared unclamped, as there.
-- Returns {code} or {code, access jti, iat, exp, refresh jti, iat, exp}. Codes:
-- 'G' granted (minted now), 'R' granted (replayed inside the grace window), 'T' theft detected,
-- 'U' reuse detected, 'X' revoked, 'N' unknown, 'C' corrupt record.
local key = KEYS[1]
local f = redis.call('HMGET', key, 'rev', 'aj', 'ai', 'ae', 'rj', 'ri', 're', 'pj', 'at', 'v')
local rev, aj, ai, ae, rj, ri, re, pj, at = f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9]
if not rev then
  return {'N'}
end
-- Revoked unless the flag reads exactly '0', the rule of every reader: a value this script does
-- not know never makes a session live. (A tombstone planted by "log out everywhere" holds the
-- flag alone.)
if rev ~= '0' then
  return {'X'}
end
-- A field layout this script does not know is never guessed at.
if f[10] ~= '1' or not (aj and ai and ae and rj and ri and re and pj and at) then
  return {'C'}
end
local now = ARGV[2]
-- is_expired: now >= end.
if not lt(now, re) then
  return {'N'}
end
-- A repeat of this very request (its new access jti is 128 random bits, so only a client retry
-- after a lost reply can send it twice) gets what the first run minted. SessionRecord never sees
-- such a repeat; without this line a retried refresh with no grace window would look like theft.
if aj == ARGV[3] then
  return {'G', aj, ai, ae, rj, ri, re}
end
local rotation = ARGV[6] ~= ''
local presented = ARGV[1]
local is_current = rj == presented
local is_previous = pj ~= '' and pj == presented
if not is_current and not is_previous then
  if rotation then
    -- An older member of this family: it was used before, so someone kept a copy.
    redis.call('HSET', key, 'rev', '1')
    return {'U'}
  end
  return {'N'}
end
-- in_grace: refreshed_at is set and now < refreshed_at + grace.
if at ~= '' and lt(now, add(at, ARGV[9])) then
  return {'R', aj, ai, ae, rj, ri, re}
end
if is_previous then
  redis.call('HSET', key, 'rev', '1')
  return {'U'}
end
-- access_valid: now < access.exp + leeway; with theft detection on, that is T3 of the flow.
if ARGV[11] == '1' and lt(now, add(ae, ARGV[10])) then
  redis.call('HSET', key, 'rev', '1')
  return {'T'}
end
-- Mint: the access token never outlives the session; rotation keeps the session's end.
local new_ae = ARGV[5]
if lt(re, new_ae) then
  new_ae = re
end
if rotation then
  redis.call('HSET', key, 'aj', ARGV[3], 'ai', ARGV[4], 'ae', new_ae,
    'pj', rj, 'rj', ARGV[6], 'ri', ARGV[7], 'at', ARGV[12])
  return {'G', ARGV[3], ARGV[4], new_ae, ARGV[6], ARGV[7], re}
end
redis.call('HSET', key, 'aj', ARGV[3], 'ai', ARGV[4], 'ae', new_ae, 'at', ARGV[12])
return {'G', ARGV[3], ARGV[4], new_ae, rj, ri, re}
