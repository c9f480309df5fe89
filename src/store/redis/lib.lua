-- Shared by every script of RedisStore (src/store/redis/mod.rs). Numbers are stored and passed as
-- the canonical decimal text Rust writes for a u64 (no sign, no leading zeros) and compared as
-- text, never through Lua's doubles: exact for every u64, as SessionRecord is.

-- a < b for canonical decimal strings: the shorter is smaller, else the first differing digit.
local function lt(a, b)
  if #a ~= #b then
    return #a < #b
  end
  for i = 1, #a do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then
      return x < y
    end
  end
  return false
end

-- a + b for canonical decimal strings, exactly (it may exceed u64; only compared afterwards,
-- where that equals Rust's saturating_add: now <= u64::MAX < any larger sum).
local function add(a, b)
  local digits, carry = {}, 0
  local i, j = #a, #b
  while i > 0 or j > 0 or carry > 0 do
    local d = carry
    if i > 0 then
      d = d + string.byte(a, i) - 48
      i = i - 1
    end
    if j > 0 then
      d = d + string.byte(b, j) - 48
      j = j - 1
    end
    digits[#digits + 1] = string.char(48 + d % 10)
    carry = (d - d % 10) / 10
  end
  return string.reverse(table.concat(digits))
end
