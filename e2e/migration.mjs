// A team's migration script, run with @gitbeaker/rest against botgate: the
// same steps as migration.py (read its docstring), with gitbeaker's own
// helpers where it has them and its requester where it has none.
//
// Environment: BG_URL, BG_TOKEN (an administrator's token), BG_FEATURES
// (comma-separated optional steps, see e2e_test.go). Any failure exits
// non-zero naming the step; success prints {"steps": [...], "secrets": [...]}.
import { Gitlab } from '@gitbeaker/rest';

const URL = process.env.BG_URL;
const FEATURES = new Set((process.env.BG_FEATURES || '').split(',').filter(Boolean));
const out = { steps: [], secrets: [] };
let stepName = 'start';

function step(name) {
  stepName = name;
  out.steps.push(name);
}

function check(cond, what) {
  if (!cond) throw new Error(what);
}

function api(token) {
  out.secrets.push(token);
  return new Gitlab({ host: URL, token });
}

// status is the HTTP status of a gitbeaker request error, 0 for success.
async function status(promise) {
  try {
    await promise;
    return 0;
  } catch (e) {
    if (e?.cause?.response?.status) return e.cause.response.status;
    throw e;
  }
}

async function refused(token) {
  return (await status(new Gitlab({ host: URL, token }).Users.showCurrentUser())) === 401;
}

// raw calls a route gitbeaker has no helper for, through its requester.
async function raw(client, method, path, body) {
  const res = await client.Users.requester[method](path, body === undefined ? {} : { body });
  return res.body;
}

function inDays(n) {
  return new Date(Date.now() + n * 86400e3).toISOString().slice(0, 10);
}

async function main() {
  step('admin authenticates');
  const admin = api(process.env.BG_TOKEN);
  const root = await admin.Users.showCurrentUser();
  check(root.is_admin, "the admin token's user is not an administrator");
  const version = await raw(admin, 'get', 'version');
  check(version.version, `version ${JSON.stringify(version)}`);

  step('admin creates users and their tokens');
  const users = {};
  for (const name of ['alice', 'bob']) {
    const u = await admin.Users.create({ username: name, name: name[0].toUpperCase() + name.slice(1), email: `${name}@example.com` });
    const tok = await admin.Users.createPersonalAccessToken(u.id, `${name}-migration`, ['api'], { expiresAt: inDays(30) });
    users[name] = { user: u, api: api(tok.token) };
  }
  const alice = users.alice.api;
  const bob = users.bob.api;
  const bobUser = users.bob.user;
  check((await alice.Users.showCurrentUser()).username === 'alice', "alice's token is not alice's");

  step('groups and projects');
  const platform = await alice.Groups.create('Platform', 'platform');
  const tools = await alice.Groups.create('Tools', 'tools', { parentId: platform.id });
  const proj = await alice.Projects.create({ name: 'API', path: 'api', namespaceId: tools.id });
  const web = await alice.Projects.create({ name: 'Web', path: 'web', namespaceId: platform.id });
  check(proj.path_with_namespace === 'platform/tools/api', `path_with_namespace ${proj.path_with_namespace}`);
  check((await alice.Projects.show('platform/tools/api')).id === proj.id, 'project by path');
  check((await alice.Groups.show('platform/tools')).id === tools.id, 'group by path');

  step('members');
  await alice.ProjectMembers.add(proj.id, 30, { userId: bobUser.id });
  await alice.GroupMembers.add(platform.id, 20, { userId: bobUser.id });
  check((await alice.ProjectMembers.show(proj.id, bobUser.id)).access_level === 30, "bob's role on api");
  const members = (await alice.GroupMembers.all(platform.id)).map((m) => m.username);
  check(members.includes('alice') && members.includes('bob'), `platform's members ${members}`);
  const bobs = await bob.Projects.all({ membership: true });
  check(bobs.some((p) => p.id === proj.id), 'bob sees api among his projects');

  step('project access tokens');
  const deployer = await alice.ProjectAccessTokens.create(proj.id, 'deployer', ['api'], inDays(60), { accessLevel: 30 });
  check(JSON.stringify(deployer.scopes) === '["api"]' && deployer.access_level === 30 && deployer.active, `created ${deployer.id}`);
  const bot = api(deployer.token);
  const botUser = await bot.Users.showCurrentUser();
  check(botUser.bot && botUser.name === 'deployer', `bot user ${botUser.username}`);
  check((await bot.Projects.show(proj.id)).id === proj.id, 'the bot reads its project');
  for (let i = 0; i < 4; i++) {
    const t = await alice.ProjectAccessTokens.create(proj.id, `ci-${i}`, ['read_api'], inDays(30), { accessLevel: 20 });
    out.secrets.push(t.token);
  }

  step('list with filters and offset pagination');
  // gitbeaker walks every page through the Link header's rel="next".
  const listed = (await alice.ProjectAccessTokens.all(proj.id, { state: 'active', perPage: 2 })).map((t) => t.id);
  check(listed.length === 5 && new Set(listed).size === 5, `active project tokens ${listed}`);
  const page2 = await alice.ProjectAccessTokens.all(proj.id, { state: 'active', perPage: 2, page: 2, showExpanded: true });
  check(page2.data.length === 2 && page2.paginationInfo.current === 2 && page2.paginationInfo.total === 5,
    `page 2: ${JSON.stringify(page2.paginationInfo)}`);
  const ci = (await alice.ProjectAccessTokens.all(proj.id, { search: 'ci-' })).map((t) => t.name).sort();
  check(JSON.stringify(ci) === JSON.stringify(['ci-0', 'ci-1', 'ci-2', 'ci-3']), `search ci-: ${ci}`);
  const mine = (await alice.PersonalAccessTokens.all({ state: 'active' })).map((t) => t.name);
  check(JSON.stringify(mine) === JSON.stringify(['alice-migration']), `alice's active personal tokens ${mine}`);
  const found = (await alice.Projects.all({ search: 'we' })).map((p) => p.path_with_namespace);
  check(JSON.stringify(found) === JSON.stringify(['platform/web']), `project search: ${found}`);
  const subgroups = (await alice.Groups.allSubgroups(platform.id)).map((g) => g.full_path);
  check(JSON.stringify(subgroups) === JSON.stringify(['platform/tools']), `subgroups ${subgroups}`);

  step('rotate, then delete the old id');
  const rotated = await alice.ProjectAccessTokens.rotate(proj.id, deployer.id, { expiresAt: inDays(60) });
  out.secrets.push(rotated.token);
  check(rotated.id !== deployer.id && rotated.user_id === deployer.user_id, `rotated ${rotated.id}`);
  check(await refused(deployer.token), 'the old token still works');
  check((await api(rotated.token).Users.showCurrentUser()).id === deployer.user_id, 'the new token is the same bot');
  if (FEATURES.has('revoke_204')) {
    step('delete the rotated-out id answers 204');
    await alice.ProjectAccessTokens.revoke(proj.id, deployer.id);
  }
  const active = (await alice.ProjectAccessTokens.all(proj.id, { state: 'active' })).map((t) => t.id);
  check(active.includes(rotated.id) && !active.includes(deployer.id), `active after rotation ${active}`);

  step('group access token');
  const gtok = await alice.GroupAccessTokens.create(platform.id, 'group-bot', ['read_api'], inDays(30), { accessLevel: 20 });
  out.secrets.push(gtok.token);
  const gm = (await alice.GroupMembers.all(platform.id)).find((m) => m.id === gtok.user_id);
  check(gm && gm.access_level === 20, `group bot level ${gm && gm.access_level}`);
  await alice.GroupAccessTokens.revoke(platform.id, gtok.id);
  check(await refused(gtok.token), 'the revoked group token still works');

  step('personal token rotate and delete');
  const own = await raw(bob, 'post', 'user/personal_access_tokens', { name: 'laptop', scopes: ['read_api'], expires_at: inDays(10) });
  out.secrets.push(own.token);
  const r = await bob.PersonalAccessTokens.rotate(own.id);
  out.secrets.push(r.token);
  check(await refused(own.token), 'the rotated personal token still works');
  await bob.PersonalAccessTokens.remove({ tokenId: r.id });
  check(await refused(r.token), 'the deleted personal token still works');

  step('service accounts');
  const sa = await admin.ServiceAccounts.create({ name: 'Nightly', username: 'nightly-sync' });
  const saTok = await admin.Users.createPersonalAccessToken(sa.id, 'nightly', ['read_api'], { expiresAt: inDays(30) });
  check((await api(saTok.token).Users.showCurrentUser()).username === 'nightly-sync', "the service account's token");
  const gsa = await alice.GroupServiceAccounts.create(platform.id, { name: 'Release', username: 'release-bot' });
  // gitbeaker 43's createPersonalAccessToken posts to .../service_accounts/:id
  // without /personal_access_tokens: call the route GitLab documents.
  const gsaTok = await raw(alice, 'post', `groups/${platform.id}/service_accounts/${gsa.id}/personal_access_tokens`,
    { name: 'release', scopes: ['api'], expires_at: inDays(30) });
  out.secrets.push(gsaTok.token);
  const gsaRot = await alice.GroupServiceAccounts.rotatePersonalAccessToken(platform.id, gsa.id, gsaTok.id);
  out.secrets.push(gsaRot.token);
  check((await refused(gsaTok.token)) && !(await refused(gsaRot.token)), 'group service account rotation');
  const accounts = (await raw(alice, 'get', `groups/${platform.id}/service_accounts`)).map((a) => a.username);
  check(JSON.stringify(accounts) === JSON.stringify(['release-bot']), `group service accounts ${accounts}`);

  step('admin token lookup and revoke');
  const looked = await raw(admin, 'post', 'admin/token', { token: saTok.token });
  check(looked.id === saTok.id && looked.user_id === sa.id, `lookup ${looked.id}`);
  const del = await admin.Users.requester.delete('admin/token', { body: { token: saTok.token } });
  check(del.status === 204, `DELETE /admin/token answered ${del.status}`);
  check(await refused(saTok.token), 'the token revoked by /admin/token still works');

  step('bad input');
  const bad = await status(alice.ProjectAccessTokens.create(proj.id, '', ['api'], inDays(1)));
  check(bad === 400 || bad === 422, `a token without a name: HTTP ${bad}`);

  if (FEATURES.has('members_all')) {
    step('inherited members');
    const names = (await alice.ProjectMembers.all(proj.id, { includeInherited: true })).map((m) => m.username);
    check(names.includes('alice') && names.includes('bob'), `inherited members of api ${names}`);
  }
  if (FEATURES.has('keyset')) {
    step('keyset pagination');
    const first = await admin.Users.requester.get('projects', { searchParams: { pagination: 'keyset', order_by: 'id', sort: 'asc', per_page: 1 } });
    check((first.headers.link || '').includes('id_after='), `keyset Link ${first.headers.link}`);
    const ids = (await admin.Projects.all({ pagination: 'keyset', orderBy: 'id', sort: 'asc', perPage: 1 })).map((p) => p.id);
    check(ids.includes(proj.id) && ids.includes(web.id) && ids.every((v, i) => i === 0 || ids[i - 1] < v), `keyset ids ${ids}`);
  }
  if (FEATURES.has('metadata')) {
    step('metadata');
    const meta = await admin.Metadata.show();
    check(meta.version && 'revision' in meta, `metadata ${JSON.stringify(meta)}`);
  }
}

try {
  await main();
  process.stdout.write(JSON.stringify(out));
} catch (e) {
  const detail = e?.cause?.description || e?.cause?.response?.status || '';
  process.stderr.write(`step ${JSON.stringify(stepName)} failed: ${e?.stack || e} ${detail}\n`);
  process.exit(1);
}
