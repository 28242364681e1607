-- postern-auth.lua: a Dovecot 2.3 Lua passdb that lets Postern decide every login.
--
-- Install as /etc/dovecot/postern-auth.lua and enable it with
-- conf.d/11-postern-passdb-lua.conf. Needs the dovecot-auth-lua package
-- (Dovecot >= 2.3.19 for the dovecot.http client used here).
--
-- Configuration comes from the environment, because Dovecot 2.3 passes no
-- arguments to Lua scripts (extra passdb args are rejected as "Unsupported
-- parameter"; auth_passdb_init(args) only arrived in 2.4). Set both with
-- import_environment, as the .conf snippet shows:
--   POSTERN_URL              Postern's base URL, e.g. http://127.0.0.1:3000
--   POSTERN_MAILAUTH_SECRET  the same value as Postern's MAILAUTH_SECRET
--
-- For every password login Dovecot calls auth_password_verify(), which POSTs
-- to <POSTERN_URL>/mailauth/dovecot with header X-Mailauth-Secret and a form
-- body: user, password, protocol (imap | smtp | ...), client_ip, master, and
-- client_id when the client sent IMAP ID before logging in (Dovecot's
-- %{client_id}, with imap_id_retain = yes: its "field" "value" pairs), so
-- Postern can show which mail app uses each client-specific password.
-- Postern answers:
--   200  accept; the body is the canonical mailbox name, which this script
--        returns as the passdb field `user`, so Dovecot opens that mailbox
--        whatever case, spacing or look-alike the client typed (mail_location
--        and home are built from %d/%n). A 200 without a usable name fails
--        temporarily: it must never open a mailbox named by the client.
--   403  refused; the body is a reason the mail client shows to the user
--        (with an empty body the client sees "Authentication failed.")
--   404  no such user
--   429  throttled; the body is a reason the mail client shows to the user
--        (with an empty body: a temporary failure)
--   anything else, or no answer: temporary failure (the login is never accepted)
--
-- Master logins ("alice@example.com*postern" + master password: Postern's
-- webmail, and nginx after Postern approved the client) arrive here only after
-- the master passdb checked the master password. Postern has already decided
-- on those, so the script sends no password and master=<master user name>;
-- Postern then answers only whether the mailbox owner exists (200 with the
-- canonical name, as above / 404).

local url
local secret

-- A short timeout: the mail client is waiting, and a stuck Postern must turn
-- into a quick temporary failure rather than hang every auth worker.
local http = dovecot.http.client {
  request_timeout_msecs = 5000,
  max_attempts = 1,
  user_agent = "dovecot-postern-auth",
}

function script_init()
  url = os.getenv("POSTERN_URL")
  secret = os.getenv("POSTERN_MAILAUTH_SECRET")
  if url == nil or url == "" then
    error("POSTERN_URL is not set; add it to import_environment in dovecot.conf")
  end
  if secret == nil or secret == "" then
    error("POSTERN_MAILAUTH_SECRET is not set; add it to import_environment in dovecot.conf")
  end
  url = url:gsub("/+$", "") .. "/mailauth/dovecot"
  return 0
end

local function form_escape(value)
  return (tostring(value or ""):gsub("[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

local function form_encode(fields)
  local parts = {}
  for _, pair in ipairs(fields) do
    parts[#parts + 1] = pair[1] .. "=" .. form_escape(pair[2])
  end
  return table.concat(parts, "&")
end

-- Postern speaks of mail protocols, not Dovecot services.
local function protocol_of(req)
  local service = req.service or ""
  if service == "submission" then return "smtp" end
  return service
end

local function master_of(req)
  local master = req.master_user
  if master == nil or master == "" then return nil end
  return master
end

-- The reason ends up in an IMAP/SMTP response line: one line, bounded.
local function one_line(text)
  text = (text or ""):gsub("[%c]+", " "):gsub("^%s+", ""):gsub("%s+$", "")
  local cut = utf8.offset(text, 201) -- 200 characters, never half of one
  if cut ~= nil then text = text:sub(1, cut - 1) end
  return text
end

-- The name Postern answered with: one address, nothing Dovecot could read
-- as another field or path separator.
local function canonical_user(text)
  if text == nil or #text == 0 or #text > 320 then return nil end
  if text:find("[%c%s/]") or not text:find("@", 1, true) then return nil end
  return text
end

local function ask_postern(req, password)
  local master = master_of(req)
  local fields = { { "user", req.user } }
  if master == nil then fields[#fields + 1] = { "password", password } end
  fields[#fields + 1] = { "protocol", protocol_of(req) }
  fields[#fields + 1] = { "client_ip", req.rip }
  fields[#fields + 1] = { "master", master or "" }
  -- Only shown to the user: cut to 1 KB, Postern reads what it can of it.
  local client_id = req.client_id
  if master == nil and client_id ~= nil and client_id ~= "" then
    fields[#fields + 1] = { "client_id", client_id:sub(1, 1024) }
  end

  local request = http:request { url = url, method = "POST" }
  request:add_header("X-Mailauth-Secret", secret)
  request:add_header("Content-Type", "application/x-www-form-urlencoded")
  request:set_payload(form_encode(fields))
  return request:submit()
end

-- Maps Postern's answer to a passdb result: a table of extra fields on OK,
-- else a text for Dovecot's log (Dovecot drops fields on failures). A refusal
-- with a reason is returned as OK + nologin: the only way Dovecot 2.3 shows a
-- custom text to the client ("NO [CONTACTADMIN] <reason>" over IMAP,
-- "525 5.7.13 <reason>" over SMTP); PASSWORD_MISMATCH always reads
-- "Authentication failed.".
local function result_of(req, response)
  local status = response:status()
  if status == 200 then
    local user = canonical_user(response:payload())
    if user == nil then
      return dovecot.auth.PASSDB_RESULT_INTERNAL_FAILURE, "Postern accepted the login without naming the mailbox"
    end
    return dovecot.auth.PASSDB_RESULT_OK, { user = user }
  end
  if status == 404 then
    return dovecot.auth.PASSDB_RESULT_USER_UNKNOWN, "unknown user"
  end
  if status == 403 or status == 429 then
    local reason = one_line(response:payload())
    if reason ~= "" then
      return dovecot.auth.PASSDB_RESULT_OK, { nologin = "y", reason = reason }
    end
    if status == 403 then
      return dovecot.auth.PASSDB_RESULT_PASSWORD_MISMATCH, "refused by Postern"
    end
  end
  -- Statuses >= 9000 are the HTTP client's own errors (refused, timed out).
  return dovecot.auth.PASSDB_RESULT_INTERNAL_FAILURE,
    string.format("Postern answered %d %s", status, tostring(response:reason()))
end

function auth_password_verify(req, password)
  return result_of(req, ask_postern(req, password))
end

-- Dovecot asks for a stored password only for non-plaintext mechanisms
-- (CRAM-MD5 and the like) and `doveadm auth lookup`. Postern never hands out
-- passwords, so those fail with a hint in the log.
function auth_passdb_lookup(req)
  req:log_warning("postern-auth.lua verifies plaintext logins only: set auth_mechanisms = plain login")
  return dovecot.auth.PASSDB_RESULT_SCHEME_NOT_AVAILABLE, "no stored passwords"
end
