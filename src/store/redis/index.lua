-- The subject index: a sorted set of session ids scored by session end. Adding one prunes the
-- ended ones and stretches the key's TTL to the latest end, so the set is bounded by the
-- subject's live sessions and vanishes with the last of them.
-- KEYS[1]: the subject's sorted set.
-- ARGV: 1 now, 2 the session's end, 3 session id, 4 TTL in milliseconds (end - now).
-- Scores are doubles, which round above 2^53; rounding keeps order, so removing only scores
-- strictly below now's removes only sessions that have ended (end < now) whatever the rounding.
-- One that ends exactly now may stay until the next add; every reader re-checks exactly.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
-- PTTL is -1 for a key without TTL (just created): always below a positive TTL.
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return 1
