// Scenario (f): with the page in Korean, the errors a fan meets are shown in Korean and never in
// the server's English words: a wrong password, an email that is taken, invalid fields (each
// next to its field), and a hold of a seat someone else took while this page missed the push.
// Switching the language keeps what was typed and the chosen seat.
import { launch, watch, shot, step, call, main, baseUrl, args, axeCheck } from './lib.mjs';

const { eventId, email, password, otherToken } = args;
const newEmail = `ko-${Date.now()}@example.com`;

// The Korean sentences i18n.js has for the codes provoked here.
const KO = {
  invalid_credentials: '이메일 또는 비밀번호가 올바르지 않습니다.',
  email_taken: '이 이메일로는 가입할 수 없습니다. 본인 계정이라면 로그인하세요.',
  validation_failed: '입력 내용을 확인하세요.',
  pw_common: '너무 흔한 비밀번호입니다. 다른 비밀번호를 고르세요.',
  phone: '전화번호는 숫자 7~15자리로 입력하세요.',
  // The code's sentence, or the seat map's own when the answer names the seat (it un-chooses it).
  seat_unavailable: /^(선택한 좌석 중 이미 다른 분이 선점하거나 구매한 좌석이 있습니다\. 다른 좌석을 선택하세요\.|A-1-1 좌석을 다른 분이 방금 선택했습니다\. 다른 좌석을 고르세요\.)$/,
};

await main(async () => {
  const b = await launch();
  const page = b.context.pages()[0] || await b.context.newPage();
  watch(page, 'ko');
  // Every error answer's English sentences, as the server sent them.
  const english = new Set();
  const codes = [];
  page.on('response', async (res) => {
    if (res.status() < 400 || !res.url().includes('/api/')) return;
    try {
      const body = await res.json();
      codes.push(body.code);
      for (const s of [body.error, body.message]) if (typeof s === 'string' && s) english.add(s);
      for (const v of Object.values(body.fields || {})) if (typeof v === 'string') english.add(v);
    } catch { /* not JSON */ }
  });
  /** The alert shows `expected` and none of the server's English sentences is on the page. */
  const shown = async (expected, what) => {
    const alert = page.getByRole('alert').filter({ hasText: expected });
    await alert.waitFor().catch(async (e) => {
      throw new Error(`${what}: no alert saying ${JSON.stringify(expected)} (${e.message.split('\n')[0]}); the page says: ${await page.locator('main').innerText()}; answers: ${codes.join(', ')}`);
    });
    const text = await page.locator('main').innerText();
    for (const s of english) if (text.includes(s)) throw new Error(`${what}: the server's English "${s}" is shown: ${text}`);
    if (/[A-Za-z]{4,}/.test((await alert.innerText()).replace(/Tiketi|Google/g, ''))) throw new Error(`${what}: English words in the alert: ${await alert.innerText()}`);
    console.log(`${what}: ${(await alert.innerText()).trim()}`);
  };
  // No live updates for this page (as if the push was missed): sockets go nowhere.
  await page.routeWebSocket(/socket\.io/, () => {});
  await page.route(/\/socket\.io\//, (r) => r.abort());

  // A wrong password.
  await page.goto(`${baseUrl}/#/login`);
  await page.getByRole('heading', { name: '로그인' }).waitFor();
  // The first Tab reaches the skip link, in Korean; it takes the focus past the header.
  await page.keyboard.press('Tab');
  const first = await page.evaluate(() => ({ cls: document.activeElement?.className, text: document.activeElement?.textContent }));
  if (first.cls !== 'skip' || first.text !== '본문으로 건너뛰기') throw new Error(`the first Tab stop is ${JSON.stringify(first)}`);
  await page.keyboard.press('Enter');
  if ((await page.evaluate(() => document.activeElement?.id)) !== 'main') throw new Error('the skip link did not move the focus to the content');
  await page.getByLabel('이메일').fill(email);
  await page.getByLabel('비밀번호').fill('not the password');
  await page.getByRole('button', { name: '로그인' }).click();
  await shown(KO.invalid_credentials, 'wrong password');
  step('wrong password in korean');

  // An email that has an account already.
  await page.goto(`${baseUrl}/#/register?next=${encodeURIComponent(`/events/${eventId}/seats`)}`);
  await page.getByRole('heading', { name: '회원가입' }).waitFor();
  await page.getByLabel('이름').fill('한국 팬');
  await page.getByLabel('이메일').fill(email);
  await page.getByLabel('비밀번호').fill(password);
  await page.getByRole('button', { name: '회원가입' }).click();
  await shown(KO.email_taken, 'email taken');
  // ... and under the email field, tied to it for screen readers.
  const emailInput = page.getByLabel('이메일');
  if ((await emailInput.getAttribute('aria-invalid')) !== 'true') throw new Error('the taken email is not marked invalid');
  const emailNote = await emailInput.evaluate((el) => (el.getAttribute('aria-describedby') || '').split(' ').map((id) => document.getElementById(id)?.textContent || '').join(' '));
  if (!emailNote.includes('이 이메일로는 가입할 수 없습니다.')) throw new Error(`the email field is described as ${JSON.stringify(emailNote)}`);
  step('email taken in korean');

  // Invalid fields: each problem under its field, tied to it for screen readers.
  await page.getByLabel('이메일').fill(newEmail);
  await page.getByLabel('비밀번호').fill('password');
  await page.getByLabel('전화번호 (선택)').fill('12');
  await page.getByRole('button', { name: '회원가입' }).click();
  await shown(KO.validation_failed, 'invalid fields');
  for (const [label, words] of [['비밀번호', KO.pw_common], ['전화번호 (선택)', KO.phone]]) {
    const input = page.getByLabel(label, { exact: true });
    if ((await input.getAttribute('aria-invalid')) !== 'true') throw new Error(`${label} is not marked invalid`);
    const described = await input.evaluate((el) => (el.getAttribute('aria-describedby') || '').split(' ').map((id) => document.getElementById(id)?.textContent || '').join(' '));
    if (!described.includes(words)) throw new Error(`${label} is described as ${JSON.stringify(described)}, not ${words}`);
  }
  if ((await page.getByLabel('이름').getAttribute('aria-invalid')) === 'true') throw new Error('a valid field is marked invalid');
  await shot(page, 'fan-14-korean-field-errors');
  await axeCheck(page, 'sign-up with field errors');
  step('field errors next to their fields in korean');

  // Switching the language keeps what was typed.
  await page.getByTestId('lang').click();
  await page.getByRole('heading', { name: 'Register' }).waitFor();
  if ((await page.getByLabel('Email').inputValue()) !== newEmail) throw new Error('the email was lost when switching the language');
  if ((await page.getByLabel('Name').inputValue()) !== '한국 팬') throw new Error('the name was lost when switching the language');
  await page.getByTestId('lang').click();
  await page.getByRole('heading', { name: '회원가입' }).waitFor();
  if ((await page.getByLabel('이메일').inputValue()) !== newEmail) throw new Error('the email was lost when switching back');
  step('language switch keeps the form');

  await page.getByLabel('비밀번호').fill('a much better password');
  await page.getByLabel('전화번호 (선택)').fill('');
  await page.getByRole('button', { name: '회원가입' }).click();
  await page.waitForURL(/#\/events\/.+\/seats/);
  const seat = page.locator('.seat[data-label="A-1-1"]');
  await seat.click();
  await page.getByTestId('selection').filter({ hasText: 'A-1-1' }).waitFor();
  // The chosen seat survives a language switch (and back).
  await page.getByTestId('lang').click();
  await page.getByTestId('hold').filter({ hasText: 'Hold these seats' }).waitFor();
  await page.getByTestId('selection').filter({ hasText: 'A-1-1' }).waitFor();
  await page.getByTestId('lang').click();
  await page.getByTestId('hold').filter({ hasText: '좌석 선점하기' }).waitFor();
  await page.getByTestId('selection').filter({ hasText: 'A-1-1' }).waitFor();
  step('language switch keeps the seat');

  // Someone else holds the seat; this page did not hear of it and tries to hold it.
  const seatId = await seat.getAttribute('data-id');
  await call('POST', `/api/queue/check/${eventId}`, otherToken);
  await call('POST', '/api/seats/reserve', otherToken, { eventId, seatIds: [seatId] });
  await page.getByTestId('hold').click();
  await shown(KO.seat_unavailable, 'seat taken');
  // The seat itself says so too (a note on it, and in its accessible name), in Korean.
  await seat.getByTestId('seat-note').filter({ hasText: '방금 다른 분이 선택함' }).waitFor();
  if (!((await seat.getAttribute('aria-label')) || '').includes('방금 다른 분이 선택함')) throw new Error(`the taken seat's name does not say so: ${await seat.getAttribute('aria-label')}`);
  await shot(page, 'fan-15-korean-seat-taken');
  step('taken seat in korean');

  for (const c of ['invalid_credentials', 'email_taken', 'validation_failed', 'seat_unavailable']) {
    if (!codes.includes(c)) throw new Error(`the server never answered ${c} (answers: ${codes.join(', ')})`);
  }
  if (english.size < 4) throw new Error(`only ${english.size} English sentences were seen`);
  await b.close();
});
