-- Runs examples/lua/server.lua and examples/lua/client.lua against each
-- other over loopback, with the interpreter running this script: the server
-- in the background on a free port, until the client's session has ended.
-- Both are bounded in time (the server by timeout(1), the client by its own
-- deadline).
--
-- Usage: lua5.4 lua_examples.lua LUA_INTERPRETER EXAMPLES_DIR MODULE_DIR
-- This script must find the module on package.cpath in MODULE_DIR, the
-- installed copy; the two examples get MODULE_DIR first on their
-- package.cpath, then Lua's default path, where LuaSocket is.
-- Exits 0 with an OK line, or prints FAIL and what went wrong and exits 1.
local lua, dir, module_dir = arg[1], arg[2], arg[3]
if not lua or not dir or not module_dir then
  io.stderr:write("usage: lua lua_examples.lua LUA_INTERPRETER EXAMPLES_DIR MODULE_DIR\n")
  os.exit(2)
end

local function fail(what)
  io.stderr:write("FAIL (" .. _VERSION .. "): " .. what .. "\n")
  os.exit(1)
end

local function quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local found = package.searchpath("stableconn", package.cpath)
if found ~= module_dir .. "/stableconn.so" then
  fail("module found at " .. tostring(found) .. ", expected the installed copy in " .. module_dir)
end

-- ";;" stands for Lua's default path.
local cpath = quote(module_dir .. "/?.so;;")
local run = string.format("env LUA_CPATH_%s=%s LUA_CPATH=%s %s ", _VERSION:match("%d+%.%d+"):gsub("%.", "_"),
                          cpath, cpath, quote(lua))

local server = assert(io.popen("timeout 30 " .. run .. quote(dir .. "/server.lua") .. " 0 1", "r"))
local first = server:read("l") or ""
local port = first:match("^listening on port (%d+)$")
if not port then
  server:close()
  fail("the server did not start: " .. first)
end
local client_ok = os.execute(run .. quote(dir .. "/client.lua") .. " 127.0.0.1 " .. port)
local rest = server:read("a")
local server_ok, how, code = server:close()
if not client_ok then fail("the client failed") end
if not server_ok then fail(string.format("the server ended by %s %s: %s", how, tostring(code), rest)) end
print("lua_examples OK: " .. _VERSION .. ", port " .. port)
