// Scenario: general admission. A fan (phone, English) opens a ticket-type event, books, registers,
// lands on the quantity picker (not a seat map), sees the per-fan limit and a sold-out type, is
// held to the limit, picks 2 of a type, pays in the sandbox and sees the 2 tickets. A second fan
// (desktop, Korean) on the same picker sees the remaining count drop live, without a reload, and,
// once out of the waiting room, gets the refusal in Korean next to the picker.
import { launch, watch, shot, step, call, main, baseUrl, args, axeCheck } from './lib.mjs';

const { eventId, email, password, watcherToken, typeName, soldOutName, startCount, maxPerFan } = args;

/** The remaining-count text of ticket type `name` on `page`. */
const leftOf = (page, name) => page.locator(`.ga-type[data-name="${name}"] [data-testid=ga-left]`);

await main(async () => {
  const fan = await launch();
  const page = fan.context.pages()[0] || await fan.context.newPage();
  watch(page, 'fan');
  await page.goto(`${baseUrl}/#/events/${eventId}`);
  await page.getByTestId('lang').click(); // Korean first; this fan reads English.
  await page.getByRole('heading', { level: 1, name: 'GA Night 2026' }).waitFor();
  // The event page lists the ticket types under a ticket heading and says which are sold out, in words.
  const prices = page.getByTestId('prices');
  await prices.getByRole('heading', { level: 2, name: 'Tickets' }).waitFor();
  await prices.locator('li[data-soldout=true]').filter({ hasText: soldOutName }).getByTestId('type-sold-out').filter({ hasText: 'Sold out' }).waitFor();
  if (await prices.locator('li').filter({ hasText: typeName }).getByTestId('type-sold-out').count()) throw new Error(`${typeName} is marked sold out on the event page`);
  // Prices per ticket type are on the event page; booking starts at sign-in.
  await page.getByTestId('book').click();
  await page.getByRole('link', { name: 'Register' }).click();
  await page.getByLabel('Name').fill('GA Fan');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Register' }).click();
  await page.waitForURL(/#\/events\/.+\/tickets$/);
  await page.locator(`.ga-type[data-name="${typeName}"]`).waitFor();
  if (await page.locator('.seat').count()) throw new Error('a seat map on a general-admission event');
  if ((await page.locator('[data-slot=clock]').count()) !== 1) throw new Error('no container for the shopping clock');
  await page.getByTestId('ga-limit').filter({ hasText: `Up to ${maxPerFan} tickets per fan` }).waitFor();
  await leftOf(page, typeName).filter({ hasText: `${startCount} left` }).waitFor();
  step('picker shown');

  // The sold-out type says so in words, and nothing of it can be picked.
  const soldOut = page.locator(`.ga-type[data-name="${soldOutName}"]`);
  await soldOut.locator('[data-testid=ga-left]').filter({ hasText: 'Sold out' }).waitFor();
  if (!(await soldOut.getByRole('button', { name: `One ${soldOutName} ticket more` }).isDisabled())) throw new Error('the sold-out type can be added');
  if (!(await soldOut.getByLabel(`Number of ${soldOutName} tickets`).isDisabled())) throw new Error('the sold-out quantity can be typed');
  step('sold out shown');

  // The per-fan limit holds in the picker: typing more than it allows is brought down to it.
  const qty = page.getByLabel(`Number of ${typeName} tickets`);
  await qty.fill('9');
  await qty.press('Tab');
  await page.getByTestId('ga-msg').filter({ hasText: `Up to ${maxPerFan} tickets per fan.` }).waitFor();
  if ((await qty.inputValue()) !== String(maxPerFan)) throw new Error(`the limit was not applied: ${await qty.inputValue()}`);
  await qty.fill('0');
  await qty.press('Tab');
  const more = page.getByRole('button', { name: `One ${typeName} ticket more` });
  const box = await more.boundingBox();
  if (!box || box.width < 44 || box.height < 44) throw new Error(`stepper target too small: ${JSON.stringify(box)}`);
  await more.click();
  await more.click();
  await page.getByTestId('ga-total').filter({ hasText: '2 tickets · total ₩100,000' }).waitFor();
  await shot(page, 'ga_picker_phone');
  await axeCheck(page, 'ga_picker_phone');
  step('limit held');

  // Switching the language keeps the selection (and the page speaks Korean).
  await page.getByTestId('lang').click();
  await page.getByTestId('ga-total').filter({ hasText: '2장 · 합계 100,000원' }).waitFor();
  if ((await page.getByLabel(`${typeName} 수량`).inputValue()) !== '2') throw new Error('the selection was lost on switching language');
  await page.getByTestId('lang').click();
  await page.getByTestId('ga-total').filter({ hasText: '2 tickets · total ₩100,000' }).waitFor();
  step('selection kept');

  // A second fan on a desktop, in Korean, watches the same picker.
  const other = await launch();
  await other.context.addInitScript(([token]) => {
    sessionStorage.setItem('tiketi.token', token);
    sessionStorage.setItem('tiketi.user', JSON.stringify({ name: 'Watcher', role: 'user' }));
    localStorage.setItem('tiketi.lang', 'ko');
  }, [watcherToken]);
  const page2 = other.context.pages()[0] || await other.context.newPage();
  await page2.setViewportSize({ width: 1280, height: 800 });
  watch(page2, 'watcher');
  await page2.goto(`${baseUrl}/#/events/${eventId}/tickets`);
  await leftOf(page2, typeName).filter({ hasText: `남은 티켓 ${startCount}장` }).waitFor();
  // Joined the event room (the server's room-info answer): pushes reach this page from now on.
  await page2.locator('[data-testid=ga-page][data-live=joined]').waitFor();
  await page2.evaluate(() => { window.gaNoReload = true; });
  step('second fan watching');

  await page.getByTestId('ga-buy').click();
  await page.waitForURL(/#\/pay\//);
  await page.getByTestId('lines').filter({ hasText: `Tickets: ${typeName} × 2` }).waitFor();
  await page.getByTestId('hold-left').filter({ hasText: 'left' }).waitFor();
  await shot(page, 'ga_pay_phone');
  await axeCheck(page, 'ga_pay_phone');
  step('reserved');

  // The count drops by 2 on the second fan's page by a push, not a reload.
  await leftOf(page2, typeName).filter({ hasText: `남은 티켓 ${startCount - 2}장` }).waitFor({ timeout: 5000 });
  if (!(await page2.evaluate(() => window.gaNoReload === true))) throw new Error('the second page was reloaded');
  await shot(page2, 'ga_second_fan_desktop');
  await axeCheck(page2, 'ga_second_fan_desktop');
  step('count dropped live');

  // Back from payment: the picker offers to finish the fan's own pending reservation, and counts
  // its 2 tickets against the limit.
  await page.goBack();
  await page.getByTestId('ga-limit').filter({ hasText: `you already hold 2, so you can add ${maxPerFan - 2}` }).waitFor();
  await page.getByTestId('ga-pending').getByRole('link', { name: 'Continue to payment' }).click();
  await page.waitForURL(/#\/pay\//);
  await page.getByTestId('lines').filter({ hasText: `Tickets: ${typeName} × 2` }).waitFor();
  step('continue payment offered');

  await page.getByTestId('pay').click();
  await page.waitForURL(/#\/result\//);
  await page.getByTestId('result').filter({ hasText: 'Payment complete' }).waitFor();
  await page.getByTestId('lines').filter({ hasText: `Tickets: ${typeName} × 2` }).waitFor();
  await page.getByTestId('qr').locator('svg').waitFor();
  await shot(page, 'ga_result_phone');
  await axeCheck(page, 'ga_result_phone');
  step('paid');
  await page.getByRole('link', { name: 'See my tickets' }).click();
  const ticket = page.locator('.ticket[data-status=confirmed]');
  await ticket.getByTestId('lines').filter({ hasText: `Tickets: ${typeName} × 2` }).waitFor();
  if ((await page.locator('.ticket').count()) !== 1) throw new Error('expected one reservation on my tickets');
  await shot(page, 'ga_my_tickets_phone');
  await axeCheck(page, 'ga_my_tickets_phone');
  step('tickets shown');
  await fan.close();

  // A refusal other than "not admitted" (here a sold-out answer, as when the last tickets go
  // between the count and the click) is said in words alone: no stray "null" after it.
  await page2.route('**/api/reservations', (route) => (route.request().method() === 'POST'
    ? route.fulfill({ status: 409, contentType: 'application/json',
      body: JSON.stringify({ error: 'Sold out', code: 'sold_out', details: { ticketTypeId: null, ticketTypeName: typeName, available: 1 } }) })
    : route.fallback()));
  await page2.getByRole('button', { name: `${typeName} 한 장 더하기` }).click();
  await page2.getByRole('button', { name: `${typeName} 한 장 더하기` }).click();
  await page2.getByTestId('ga-buy').click();
  await page2.getByTestId('ga-msg').getByRole('alert').filter({ hasText: `${typeName} 티켓은 1장만 남아 있습니다.` }).waitFor();
  const soldOutWords = await page2.getByTestId('ga-msg').innerText();
  if (/null/i.test(soldOutWords)) throw new Error(`"null" after a refusal: ${soldOutWords}`);
  if (await page2.getByTestId('ga-to-queue').count()) throw new Error('the way to the queue offered for a sold-out refusal');
  await page2.unroute('**/api/reservations');
  await page2.getByRole('button', { name: `${typeName} 한 장 빼기` }).click();
  step('sold-out refusal clean');

  // Out of the waiting room, the second fan tries to buy: refused, said in Korean beside the
  // picker (the server's English sentence never shows), with the way back to the queue.
  await call('POST', `/api/queue/leave/${eventId}`, watcherToken);
  await page2.getByTestId('ga-buy').click();
  const refusal = page2.getByTestId('ga-msg');
  await refusal.getByRole('alert').filter({ hasText: '대기실에서 다시 입장하세요' }).waitFor();
  const words = await refusal.innerText();
  if (/[A-Za-z]/.test(words)) throw new Error(`English on a Korean page: ${words}`);
  await refusal.getByRole('link', { name: '대기실로 가기' }).waitFor();
  await shot(page2, 'ga_refused_desktop_ko');
  await axeCheck(page2, 'ga_refused_desktop_ko');
  step('refusal in korean');

  // Before the line opens the server answers a join with `status: upcoming` (stood in for here
  // until the line opens, then the real server answers): the picker sends the fan to the waiting
  // room, which says when the line opens, admits nobody, and joins by itself at that moment.
  const lineOpensAt = Date.now() + 6000;
  const saleAt = new Date(lineOpensAt + 3600_000).toISOString();
  await page2.route(`**/api/queue/check/${eventId}`, (route) => {
    if (Date.now() >= lineOpensAt) return route.fallback();
    return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({
      queued: false, status: 'upcoming', queueEnabled: true, saleStart: saleAt, serverTime: Date.now(), lineOpensAt: new Date(lineOpensAt).toISOString() }) });
  });
  await page2.goto(`${baseUrl}/#/events/${eventId}`); // the picker again, drawn anew
  await page2.getByRole('heading', { level: 1, name: 'GA Night 2026' }).waitFor();
  await page2.goto(`${baseUrl}/#/events/${eventId}/tickets`);
  await page2.waitForURL(/#\/events\/.+\/queue$/);
  await page2.getByTestId('line-opens-at').filter({ hasText: '대기열 오픈' }).waitFor();
  await page2.getByTestId('presale-countdown').filter({ hasText: '대기열 오픈까지' }).waitFor();
  await page2.getByTestId('ahead').filter({ hasText: '아직 대기열에 들어가지 않았습니다' }).waitFor();
  if (Date.now() >= lineOpensAt) throw new Error('too slow to see the page before the line opened');
  if (await page2.getByTestId('ga-page').count()) throw new Error('an upcoming answer showed the picker');
  await shot(page2, 'ga_line_upcoming_desktop_ko');
  // When the line opens the page joins again by itself (the real server answers from now on):
  // the fan gets a place in line or, with room to shop, the picker.
  await page2.waitForRequest((r) => r.url().includes(`/api/queue/check/${eventId}`) && Date.now() >= lineOpensAt, { timeout: 15000 });
  await page2.getByTestId('line-opens-at').waitFor({ state: 'detached' });
  const joined = page2.locator('[data-testid=ga-page], [data-testid=position]').filter({ hasText: /\d|티켓/ });
  await joined.first().waitFor();
  step('upcoming waits for the line');
  await other.close();
});
