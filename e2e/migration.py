"""A team's migration script, run with python-gitlab against botgate.

It does what a team moving its automation to botgate does with the scripts
it already runs against GitLab: set up groups, projects and members, create
project, group and personal access tokens, use them, list them with filters
and offset pagination, rotate one and delete the old id, create service
accounts and their tokens, look tokens up and revoke them with /admin/token.

Environment: BG_URL (botgate's base URL), BG_TOKEN (an administrator's
token), BG_FEATURES (comma-separated optional steps to run; see
e2e_test.go). Every check raises on failure, so any error exits non-zero
with the step that failed; on success it prints one JSON object: the steps
done, in order, and every secret it was given (the Go test checks the
server's logs for them).
"""
import datetime
import json
import os
import sys
import traceback

import gitlab

URL = os.environ["BG_URL"]
FEATURES = set(filter(None, os.environ.get("BG_FEATURES", "").split(",")))
out = {"steps": [], "secrets": []}
step_name = "start"


def step(name):
    global step_name
    step_name = name
    out["steps"].append(name)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def client(token):
    out["secrets"].append(token)
    gl = gitlab.Gitlab(URL, private_token=token)
    gl.auth()
    return gl


def refused(token):
    try:
        gitlab.Gitlab(URL, private_token=token).auth()
    except gitlab.exceptions.GitlabAuthenticationError:
        return True
    return False


def in_days(n):
    return (datetime.date.today() + datetime.timedelta(days=n)).isoformat()


def main():
    step("admin authenticates")
    admin = client(os.environ["BG_TOKEN"])
    check(admin.user.is_admin, "the admin token's user is not an administrator")
    version = admin.version()
    check(version[0] not in ("unknown", None), f"version {version}")

    step("admin creates users and their tokens")
    users = {}
    for name in ("alice", "bob"):
        u = admin.users.create({"username": name, "name": name.title(), "email": f"{name}@example.com"})
        tok = u.personal_access_tokens.create({"name": f"{name}-migration", "scopes": ["api"], "expires_at": in_days(30)})
        users[name] = (u, client(tok.token))
    alice_user, alice = users["alice"]
    bob_user, bob = users["bob"]
    check(alice.user.username == "alice", "alice's token is not alice's")

    step("groups and projects")
    platform = alice.groups.create({"name": "Platform", "path": "platform"})
    tools = alice.groups.create({"name": "Tools", "path": "tools", "parent_id": platform.id})
    api = alice.projects.create({"name": "API", "path": "api", "namespace_id": tools.id})
    web = alice.projects.create({"name": "Web", "path": "web", "namespace_id": platform.id})
    check(api.path_with_namespace == "platform/tools/api", f"path_with_namespace {api.path_with_namespace}")
    check(alice.projects.get("platform/tools/api").id == api.id, "project by path")
    check(alice.groups.get("platform/tools").id == tools.id, "group by path")

    step("members")
    api.members.create({"user_id": bob_user.id, "access_level": 30})
    platform.members.create({"user_id": bob_user.id, "access_level": 20})
    check(api.members.get(bob_user.id).access_level == 30, "bob's role on api")
    check({m.username for m in platform.members.list(get_all=True)} >= {"alice", "bob"}, "platform's members")
    check(any(p.id == api.id for p in bob.projects.list(membership=True, get_all=True)), "bob sees api among his projects")

    step("project access tokens")
    deployer = api.access_tokens.create(
        {"name": "deployer", "scopes": ["api"], "access_level": 30, "expires_at": in_days(60)}
    )
    check(deployer.scopes == ["api"] and deployer.access_level == 30 and deployer.active, f"created {deployer.attributes}")
    bot = client(deployer.token)
    check(bot.user.bot and bot.user.name == "deployer", f"bot user {bot.user.username}")
    check(bot.projects.get(api.id).id == api.id, "the bot reads its project")
    for i in range(4):
        t = api.access_tokens.create({"name": f"ci-{i}", "scopes": ["read_api"], "access_level": 20, "expires_at": in_days(30)})
        out["secrets"].append(t.token)

    step("list with filters and offset pagination")
    # python-gitlab follows the Link header's rel="next".
    listed = [t.id for t in api.access_tokens.list(state="active", per_page=2, iterator=True)]
    check(len(listed) == 5 and len(set(listed)) == 5, f"active project tokens {listed}")
    page2 = api.access_tokens.list(state="active", per_page=2, page=2)
    check(len(page2) == 2, f"page 2 has {len(page2)} tokens")
    ci = [t.name for t in api.access_tokens.list(search="ci-", get_all=True)]
    check(sorted(ci) == ["ci-0", "ci-1", "ci-2", "ci-3"], f"search ci-: {ci}")
    mine = [t.name for t in alice.personal_access_tokens.list(state="active", get_all=True)]
    check(mine == ["alice-migration"], f"alice's active personal tokens {mine}")
    found = [p.path_with_namespace for p in alice.projects.list(search="we", get_all=True)]
    check(found == ["platform/web"], f"project search: {found}")
    subgroups = [g.full_path for g in platform.subgroups.list(get_all=True)]
    check(subgroups == ["platform/tools"], f"subgroups {subgroups}")

    step("rotate, then delete the old id")
    # python-gitlab 3.12 has no rotate helper: its HTTP layer calls the route.
    rotated = alice.http_post(f"/projects/{api.id}/access_tokens/{deployer.id}/rotate", post_data={"expires_at": in_days(60)})
    out["secrets"].append(rotated["token"])
    check(rotated["id"] != deployer.id and rotated["user_id"] == deployer.user_id, f"rotated {rotated['id']}")
    check(refused(deployer.token), "the old token still works")
    check(client(rotated["token"]).user.id == deployer.user_id, "the new token is the same bot")
    if "revoke_204" in FEATURES:
        # GitLab answers 204 to revoking an already revoked token.
        step("delete the rotated-out id answers 204")
        api.access_tokens.delete(deployer.id)
    active = sorted(t.id for t in api.access_tokens.list(state="active", get_all=True))
    check(rotated["id"] in active and deployer.id not in active, f"active after rotation {active}")

    step("group access token")
    gtok = platform.access_tokens.create({"name": "group-bot", "scopes": ["read_api"], "access_level": 20, "expires_at": in_days(30)})
    out["secrets"].append(gtok.token)
    levels = {m.id: m.access_level for m in platform.members.list(get_all=True)}
    check(levels.get(gtok.user_id) == 20, f"group bot level {levels.get(gtok.user_id)}")
    platform.access_tokens.delete(gtok.id)
    check(refused(gtok.token), "the revoked group token still works")

    step("personal token rotate and delete")
    own = bob.http_post("/user/personal_access_tokens", post_data={"name": "laptop", "scopes": ["read_api"], "expires_at": in_days(10)})
    out["secrets"].append(own["token"])
    r = bob.http_post(f"/personal_access_tokens/{own['id']}/rotate")
    out["secrets"].append(r["token"])
    check(refused(own["token"]), "the rotated personal token still works")
    bob.personal_access_tokens.delete(r["id"])
    check(refused(r["token"]), "the deleted personal token still works")

    step("service accounts")
    sa = admin.http_post("/service_accounts", post_data={"name": "Nightly", "username": "nightly-sync"})
    sa_tok = admin.users.get(sa["id"], lazy=True).personal_access_tokens.create({"name": "nightly", "scopes": ["read_api"], "expires_at": in_days(30)})
    check(client(sa_tok.token).user.username == "nightly-sync", "the service account's token")
    gsa = alice.http_post(f"/groups/{platform.id}/service_accounts", post_data={"name": "Release", "username": "release-bot"})
    gsa_tok = alice.http_post(
        f"/groups/{platform.id}/service_accounts/{gsa['id']}/personal_access_tokens",
        post_data={"name": "release", "scopes": ["api"], "expires_at": in_days(30)},
    )
    out["secrets"].append(gsa_tok["token"])
    gsa_rot = alice.http_post(f"/groups/{platform.id}/service_accounts/{gsa['id']}/personal_access_tokens/{gsa_tok['id']}/rotate")
    out["secrets"].append(gsa_rot["token"])
    check(refused(gsa_tok["token"]) and not refused(gsa_rot["token"]), "group service account rotation")
    listed = alice.http_get(f"/groups/{platform.id}/service_accounts")
    check([a["username"] for a in listed] == ["release-bot"], f"group service accounts {listed}")

    step("admin token lookup and revoke")
    found = admin.http_post("/admin/token", post_data={"token": sa_tok.token})
    check(found["id"] == sa_tok.id and found["user_id"] == sa["id"], f"lookup {found.get('id')}")
    resp = admin.http_request("delete", "/admin/token", post_data={"token": sa_tok.token})
    check(resp.status_code == 204, f"DELETE /admin/token answered {resp.status_code}")
    check(refused(sa_tok.token), "the token revoked by /admin/token still works")

    step("bad input")
    try:
        api.access_tokens.create({"name": "", "scopes": ["api"], "expires_at": in_days(1)})
        raise AssertionError("a token without a name was created")
    except gitlab.exceptions.GitlabCreateError as e:
        check(e.response_code in (400, 422), f"status {e.response_code}")
        check("name" in str(e.error_message), f"message {e.error_message}")

    if "members_all" in FEATURES:
        step("inherited members")
        names = {m.username for m in api.members_all.list(get_all=True)}
        check({"alice", "bob"} <= names, f"inherited members of api {names}")
    if "keyset" in FEATURES:
        step("keyset pagination")
        first = admin.http_get("/projects", query_data={"pagination": "keyset", "order_by": "id", "sort": "asc", "per_page": 1}, raw=True)
        check("id_after=" in first.headers.get("Link", ""), f"keyset Link {first.headers.get('Link')}")
        ids = [p.id for p in admin.projects.list(pagination="keyset", order_by="id", sort="asc", per_page=1, iterator=True)]
        check(ids == sorted(ids) and {api.id, web.id} <= set(ids), f"keyset ids {ids}")
    if "metadata" in FEATURES:
        step("metadata")
        meta = admin.http_get("/metadata")
        check(meta.get("version") and "revision" in meta, f"metadata {meta}")


try:
    main()
except Exception:
    sys.stderr.write(f"step {step_name!r} failed:\n{traceback.format_exc()}")
    sys.exit(1)
json.dump(out, sys.stdout)
