"""Drive a running botgate with python-gitlab (Debian's python3-gitlab).

Environment: BG_URL, BG_TOKEN (a personal token of the project's owner),
BG_PROJECT (path with namespace), BG_GROUP (the full path of a group the
owner owns). Prints one JSON object with what it saw and every secret it
was given, so that the Go test can check the logs for them.
"""
import json
import os
import sys

import gitlab

url = os.environ["BG_URL"]
out = {"secrets": []}

gl = gitlab.Gitlab(url, private_token=os.environ["BG_TOKEN"])
gl.auth()
out["user"] = gl.user.username

# List personal access tokens two per page: python-gitlab follows only the
# Link header's rel="next".
toks = list(gl.personal_access_tokens.list(iterator=True, per_page=2))
out["pat_ids"] = [t.id for t in toks]

project = gl.projects.get(os.environ["BG_PROJECT"])
out["project_id"] = project.id

created = project.access_tokens.create(
    {"name": "py-bot", "scopes": ["read_api", "read_repository"], "access_level": 30}
)
out["secrets"].append(created.token)
out["created"] = {
    "id": created.id,
    "scopes": created.scopes,
    "access_level": created.access_level,
    "active": created.active,
    "user_id": created.user_id,
}

bot = gitlab.Gitlab(url, private_token=created.token)
bot.auth()
out["bot"] = {"name": bot.user.name, "bot": bot.user.bot, "id": bot.user.id}

# python-gitlab 3.12 has no rotate helper: use its HTTP layer.
rotated = gl.http_post(f"/projects/{project.id}/access_tokens/{created.id}/rotate")
out["secrets"].append(rotated["token"])
out["rotated"] = {"id": rotated["id"], "user_id": rotated["user_id"]}

try:
    gitlab.Gitlab(url, private_token=created.token).auth()
    out["old_token_refused"] = False
except gitlab.exceptions.GitlabAuthenticationError:
    out["old_token_refused"] = True

fresh = gitlab.Gitlab(url, private_token=rotated["token"])
fresh.auth()
out["rotated_user"] = fresh.user.id

out["active_after_rotation"] = [
    t.id for t in project.access_tokens.list(state="active", get_all=True)
]
project.access_tokens.delete(rotated["id"])
out["active_after_revoke"] = [
    t.id for t in project.access_tokens.list(state="active", get_all=True)
]

# A group access token, and the group's members (the bot is one).
group = gl.groups.get(os.environ["BG_GROUP"])
gtok = group.access_tokens.create(
    {"name": "py-group-bot", "scopes": ["read_api"], "access_level": 20}
)
out["secrets"].append(gtok.token)
members = {m.id: m.access_level for m in group.members.list(get_all=True)}
out["group_token"] = {
    "id": gtok.id,
    "user_id": gtok.user_id,
    "member_level": members.get(gtok.user_id),
}
group.access_tokens.delete(gtok.id)
out["group_tokens_active"] = [
    t.id for t in group.access_tokens.list(state="active", get_all=True)
]

# Bad input comes back as python-gitlab's own exception with GitLab's text.
try:
    project.access_tokens.create({"name": "", "scopes": ["api"]})
    out["bad_input"] = "accepted"
except gitlab.exceptions.GitlabCreateError as e:
    out["bad_input"] = f"{e.response_code} {e.error_message}"

json.dump(out, sys.stdout)
