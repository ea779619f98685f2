-- A script written against the 2014 Lua modules' API, in the shape of their
-- demo server and client: a constructor from require, then loops over poll
-- with its return values (type, id, data on the server; type, data on the
-- client), send, recv and handshake. Only the two require lines differ from
-- what such a script had ("lsocket.server" and "lsocket.client" then).
--
-- The 2014 demos used real sockets; this one is sans-IO like the library: a
-- few lines below stand in for the sockets (byte queues, one per direction)
-- so that the script runs anywhere and its results can be checked exactly.
-- The server answers each read with a line counting its answers, as the 2014
-- demo did; the client loses its socket once and resumes on a new one.
--
-- Usage: lua5.4 lua_2014_style.lua     (module on package.cpath)
-- Exits 0 with an OK line, or prints FAIL and exits 1.

local server = require "stableconn.server"
local client = require "stableconn.client"

-- ---- the stand-in for sockets: a connection is two byte queues ----------
local next_fd = 3
local function connect()
	local conn = { fd = next_fd, to_server = {}, to_client = {}, open = true }
	next_fd = next_fd + 1
	return conn
end
local function take(queue)
	local s = table.concat(queue)
	for i = #queue, 1, -1 do queue[i] = nil end
	return s
end

-- ---- the server ----------------------------------------------------------
local pool = server()
local fds = {}        -- fd -> connection
local current_id
local server_log = {} -- what the server received, per session id
local answers = 0
local closes = {}

local function server_poll()
	while true do
		local t, id, msg = pool:poll()
		if t == nil then
			break
		elseif t == 1 then
			-- message in
			current_id = id
			server_log[id] = (server_log[id] or "") .. msg
		else
			-- message out: id is a socket; an empty message closes it
			local so = fds[id]
			if msg == "" then
				closes[#closes + 1] = id
				if so then so.open = false end
				fds[id] = nil
			elseif so and so.open then
				so.to_client[#so.to_client + 1] = msg
			end
		end
	end
end

local function server_read(so)
	local str = take(so.to_server)
	if str ~= "" then
		pool:recv(so.fd, str)
		server_poll()
		if current_id then
			pool:send(current_id, tostring(answers) .. "\n")
			answers = answers + 1
		end
		server_poll()
	end
end

local function server_disconnect(so)
	-- the socket is gone: tell the pool with an empty read
	pool:recv(so.fd, "")
	fds[so.fd] = nil
	current_id = nil
	server_poll()
end

-- ---- the client ----------------------------------------------------------
local c = client()
local so
local client_log = ""

local function client_poll()
	while true do
		local t, msg = c:poll()
		if t == nil then
			break
		end
		if t == 1 then
			-- message in
			client_log = client_log .. msg
		else
			-- message out
			so.to_server[#so.to_server + 1] = msg
		end
	end
end

local function client_read()
	local msg = take(so.to_client)
	if msg ~= "" then
		c:recv(msg)
		client_poll()
	end
end

-- Both ends run until neither has anything to say.
local function run()
	for _ = 1, 100 do
		if #so.to_server == 0 and #so.to_client == 0 then return end
		server_read(so)
		client_read()
	end
	error("the two ends did not settle")
end

local function open_socket()
	so = connect()
	fds[so.fd] = so
end

-- ---- the script ----------------------------------------------------------
open_socket()
c:send "1234567890"
client_poll()
run()
c:send "abc"
client_poll()
run()

-- The socket breaks; the client connects again and resumes the session.
server_disconnect(so)
open_socket()
c:handshake()
client_poll()
c:send "abcdef"
client_poll()
run()

-- Another client beside the first, in the same Lua state as the server.
local c2 = client()
local so2 = connect()
fds[so2.fd] = so2
c2:send "second"
while true do
	local t, msg = c2:poll()
	if t == nil then break end
	if t == 2 then so2.to_server[#so2.to_server + 1] = msg end
end
server_read(so2)
local c2_got = ""
for _ = 1, 10 do
	local msg = take(so2.to_client)
	if msg == "" then break end
	c2:recv(msg)
	while true do
		local t, m = c2:poll()
		if t == nil then break end
		if t == 1 then c2_got = c2_got .. m else so2.to_server[#so2.to_server + 1] = m end
	end
	server_read(so2)
end
-- Client 1 reads what came for it meanwhile.
run()

-- ---- what must have happened --------------------------------------------
local failures = {}
local function expect(got, want, what)
	if got ~= want then
		failures[#failures + 1] = string.format("%s: got %q, expected %q", what, tostring(got), tostring(want))
	end
end
expect(server_log[1], "1234567890abcabcdef", "session 1 received")
-- One answer per read that follows data: two before the socket broke, one
-- after the resume (the resume's handshake came while no session had spoken
-- since the break); then the second client's handshake read answers session
-- 1, the last speaker, and its data read answers session 2.
expect(client_log, "0\n1\n2\n3\n", "client 1 received")
expect(server_log[2], "second", "session 2 received")
expect(c2_got, "4\n", "client 2 received")
expect(#closes, 0, "sockets the pool closed")
expect(answers, 5, "answers")

if #failures > 0 then
	io.stderr:write("FAIL (" .. _VERSION .. "): " .. table.concat(failures, "; ") .. "\n")
	os.exit(1)
end
print("lua_2014_style OK: " .. _VERSION)
