-- create_session: records a new session in one step (fields and TTL together, so no session
-- ever exists without its expiry).
-- KEYS[1]: the session hash.
-- ARGV: 1 subject, 2-4 access jti/iat/exp, 5-7 refresh jti/iat/exp, 8 TTL in milliseconds.
-- Returns 1, or 0 if another session holds the id (nothing is ever overwritten). A repeat of
-- this very call (same first access jti: 128 random bits), as a client retry after a lost reply
-- sends, finds its own record and returns 1 again.
local rev = '0'
if redis.call('EXISTS', KEYS[1]) == 1 then
  local aj = redis.call('HGET', KEYS[1], 'aj')
  if aj == ARGV[2] then
    return 1
  end
  if aj then
    return 0
  end
  -- A tombstone: "log out everywhere" found this session in the subject index between this
  -- login's two steps (index, then this script). The session is written, revoked: it began
  -- before the revocation, so the revocation covers it.
  rev = redis.call('HGET', KEYS[1], 'rev')
end
redis.call('HSET', KEYS[1], 'v', '1', 'sub', ARGV[1], 'rev', rev,
  'aj', ARGV[2], 'ai', ARGV[3], 'ae', ARGV[4],
  'rj', ARGV[5], 'ri', ARGV[6], 're', ARGV[7],
  'pj', '', 'at', '')
redis.call('PEXPIRE', KEYS[1], ARGV[8])
return 1
