-- The subject index: a sorted set of session ids scored by session end. Adding one prunes the
-- ended ones and stretches the key's TTL to the latest end, so the set is bounded by the
-- subject's live sessions and vanishes with the last of them.
-- KEYS[1]: the subject's sorted set.
-- ARGV: 1 now, 2 the session's end, 3 session id, 4 TTL in milliseconds (end - now),
--       5 the subject's limit of sessions.
-- Returns the ids and ends of the sessions beyond the limit, those that end first, never the
-- new one:
-- the caller revokes them and only then removes them from the set, so a session that is still
-- live is always indexed. (Revoked ones leave the set when "log out everywhere" or a later
-- login meets them.)
-- Scores are doubles, which round above 2^53; rounding keeps order, so removing only scores
-- strictly below now's removes only sessions that have ended (end < now) whatever the rounding.
-- One that ends exactly now may stay until the next add; every reader re-checks exactly.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
-- PTTL is -1 for a key without TTL (just created): always below a positive TTL.
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[5])
if excess <= 0 then
  return {}
end
-- Flat pairs: id, end.
local over, taken = {}, 0
local first = redis.call('ZRANGE', KEYS[1], 0, excess, 'WITHSCORES')
for i = 1, #first, 2 do
  if first[i] ~= ARGV[3] and taken < excess then
    over[#over + 1] = first[i]
    over[#over + 1] = first[i + 1]
    taken = taken + 1
  end
end
return over
