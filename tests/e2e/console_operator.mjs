// Scenario: the operator console of issue 18. An operator creates a general-admission event with
// two ticket types (the form shows the waiting room on, at the default threshold); it is saved as
// a draft that fans cannot see, then published. The operator finds a fan's reservation by the
// buyer's email and opens the order; writes a message to the fans waiting in a queue (the fan's
// status answer carries it); Clear asks first and does nothing when declined; the statistics page
// draws the stats service's views with the queue threshold as a line. Desktop 1280x800, and the
// queue control on a phone (390x844).
import { launch, watch, shot, step, call, main, baseUrl, args, axeCheck } from './lib.mjs';

const { adminToken, fanToken, queueEventId, buyerEmail, buyerName, reservationNumber, defaultThreshold, title, message } = args;
const local = (d) => {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
};
/** The status of an anonymous `GET path` (what a fan without an account sees). */
const anonymous = async (path) => (await fetch(`${baseUrl}${path}`)).status;

await main(async () => {
  const b = await launch();
  await b.context.addInitScript(([token]) => {
    if (!sessionStorage.getItem('tiketi.token')) {
      sessionStorage.setItem('tiketi.token', token);
      sessionStorage.setItem('tiketi.user', JSON.stringify({ name: 'Operator', role: 'admin' }));
    }
    localStorage.setItem('tiketi.lang', 'en');
  }, [adminToken]);
  const page = b.context.pages()[0] || await b.context.newPage();
  await page.setViewportSize({ width: 1280, height: 800 });
  watch(page, 'console');

  // The form: the waiting room is on by default, at the default threshold; the layout is chosen
  // by name; with no layout, ticket types are entered here.
  await page.goto(`${baseUrl}/#/admin/events/new`);
  await page.getByLabel('Title').waitFor();
  if (!(await page.getByLabel('Waiting room on').isChecked())) throw new Error('the waiting room is not on by default');
  const threshold = await page.getByLabel('Fans shopping at once').inputValue();
  if (threshold !== String(defaultThreshold)) throw new Error(`threshold shown as ${threshold}, default is ${defaultThreshold}`);
  const layouts = await page.getByLabel('Seat layout').locator('option').allTextContents();
  if (!layouts.some((l) => /^Small theatre · 265 seats$/.test(l))) throw new Error(`layouts shown as ${JSON.stringify(layouts)}`);
  if (layouts.some((l) => /small_theater|[0-9a-f]{8}-/.test(l))) throw new Error(`a layout shown by its key or id: ${JSON.stringify(layouts)}`);
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Venue').fill('Blue Square');
  const now = Date.now();
  await page.getByLabel('Event date').fill(local(new Date(now + 20 * 86400e3)));
  await page.getByLabel('Sale starts').fill(local(new Date(now - 3600e3)));
  await page.getByLabel('Sale ends').fill(local(new Date(now + 10 * 86400e3)));
  await page.getByLabel('Ticket name 1').fill('Standing');
  await page.getByLabel('Price (won) 1').fill('55000');
  await page.getByLabel('Quantity 1').fill('100');
  await page.getByTestId('tt-add').click();
  await page.getByLabel('Ticket name 2').fill('VIP');
  await page.getByLabel('Price (won) 2').fill('150000');
  await page.getByLabel('Quantity 2').fill('10');
  // A bad value is shown next to its field, in words of ours.
  await page.getByLabel('Sale ends').fill(local(new Date(now - 7200e3)));
  await page.getByTestId('save-event').click();
  await page.locator('.field-error').filter({ hasText: 'Must be after the sale start.' }).waitFor();
  await page.getByLabel('Sale ends').fill(local(new Date(now + 10 * 86400e3)));
  await page.locator('.field-error').waitFor({ state: 'detached' });
  await page.getByTestId('tt-section').scrollIntoViewIfNeeded();
  await shot(page, 'console_01_event_form');
  await axeCheck(page, 'console_01_event_form');
  await page.getByTestId('save-event').click();
  await page.getByText('Saved as a draft.').waitFor();
  await page.getByTestId('draft-chip').first().waitFor();
  const eventId = page.url().match(/admin\/events\/([\w-]+)/)[1];
  for (const name of ['Ticket name 1', 'Ticket name 2']) await page.getByLabel(name).waitFor();
  step('draft created with ticket types');

  // A draft is nowhere for fans.
  if (await anonymous(`/api/events/${eventId}`) !== 404) throw new Error('a draft page is readable anonymously');
  const listed = await (await fetch(`${baseUrl}/api/events?limit=100`)).json();
  if (listed.events.some((e) => e.id === eventId)) throw new Error('a draft is listed to fans');
  step('draft hidden from fans');

  // An edit of a ticket type in the form: the VIP quantity goes to 12.
  await page.getByLabel('Quantity 2').fill('12');
  await page.getByTestId('save-event').click();
  await page.getByText('Saved.').waitFor();
  await page.getByText('12 of 12 left').waitFor();

  await page.getByTestId('publish-event').click();
  await page.getByTestId('confirm-dialog').waitFor();
  await page.getByTestId('confirm-yes').click();
  await page.getByText(`"${title}" is published.`).waitFor();
  if (await page.getByTestId('draft-chip').count()) throw new Error('still shown as a draft');
  await shot(page, 'console_02_published');
  await axeCheck(page, 'console_02_published');
  if (await anonymous(`/api/events/${eventId}`) !== 200) throw new Error('the published event is not readable');
  step('published');

  // Reservations: search by the buyer's email, then open the order.
  await page.goto(`${baseUrl}/#/admin/reservations`);
  await page.getByLabel('Buyer name, email or reservation number').fill(buyerEmail.toUpperCase());
  await page.getByTestId('r-search-go').click();
  await page.waitForURL(/q=/);
  await page.getByTestId('r-count').filter({ hasText: '1 found' }).waitFor();
  await page.getByTestId('reservation-table').getByText(buyerName).waitFor();
  await shot(page, 'console_03_reservation_search');
  await axeCheck(page, 'console_03_reservation_search');
  await page.getByTestId('open-reservation').filter({ hasText: reservationNumber }).click();
  await page.getByRole('heading', { level: 1, name: new RegExp(reservationNumber) }).waitFor();
  await page.getByTestId('order-buyer').getByText(buyerEmail).waitFor();
  await page.getByTestId('order-lines').getByText('A-1-1').waitFor();
  await page.getByTestId('order-payment').getByText('Awaiting payment').first().waitFor();
  await shot(page, 'console_04_order_detail');
  await axeCheck(page, 'console_04_order_detail');
  step('reservation found and opened');

  // The queue in plain words; a message to the waiting fans.
  await page.goto(`${baseUrl}/#/admin/queue/${queueEventId}`);
  await page.getByTestId('q-waiting').filter({ hasText: /Waiting\s*1$/ }).waitFor();
  await page.getByTestId('q-estimate').filter({ hasText: /1 waiting · .* clear in/ }).waitFor();
  if (await page.getByTestId('q-resume').isEnabled()) throw new Error('Resume is enabled on a running queue');
  if (!(await page.getByTestId('q-pause').isEnabled())) throw new Error('Pause is disabled on a running queue');
  await page.getByLabel('Fans let in per second').waitFor();
  await page.getByLabel('Shopping time limit (minutes)').waitFor();
  await page.getByLabel('Message (up to 500 characters)').fill(message);
  await page.getByTestId('q-message-send').click();
  await page.getByText('The message is shown to the waiting fans.').waitFor();
  const status = await call('GET', `/api/queue/status/${queueEventId}`, fanToken);
  if (status.message !== message) throw new Error(`the fan's status carries ${JSON.stringify(status.message)}`);
  await shot(page, 'console_05_queue_control');
  await axeCheck(page, 'console_05_queue_control');
  step('message sent');

  await page.getByTestId('q-pause').click();
  await page.getByTestId('q-state').filter({ hasText: 'Paused' }).waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid=q-resume]') && !document.querySelector('[data-testid=q-resume]').disabled && document.querySelector('[data-testid=q-pause]').disabled);
  await page.getByTestId('q-estimate').filter({ hasText: 'Admissions are paused' }).waitFor();
  await page.getByTestId('q-resume').click();
  await page.getByTestId('q-state').filter({ hasText: 'Running' }).waitFor();
  step('pause and resume apply');

  // Statistics: the stats service's views, the threshold drawn as a line.
  await page.goto(`${baseUrl}/#/admin/stats`);
  for (const id of ['sales-chart', 'revenue-chart', 'hourly-chart', 'queue-chart', 'users-chart', 'payments-chart']) {
    await page.waitForFunction((sel) => { const c = document.querySelector(sel); return !!(c && window.Chart && window.Chart.getChart(c)); }, `[data-testid=${id}]`);
  }
  const kinds = await page.evaluate(() => window.Chart.getChart(document.querySelector('[data-testid=queue-chart]')).data.datasets.map((d) => d.type || 'bar'));
  if (kinds.join() !== 'bar,bar,line') throw new Error(`queue chart datasets: ${kinds}`);
  const drawn = await page.evaluate(() => window.Chart.getChart(document.querySelector('[data-testid=queue-chart]')).data.datasets.map((d) => d.data.join('/')));
  if (drawn.join() !== '1,1,1') throw new Error(`queue chart shows ${drawn} (want 1 waiting, 1 shopping, threshold 1)`);
  for (const id of ['stats-overview', 'stats-realtime', 'stats-conversion', 'stats-cancellations', 'stats-events', 'stats-seats', 'stats-behavior', 'stats-performance']) {
    await page.getByTestId(id).waitFor();
  }
  if (await page.locator('main .notice.error').count()) throw new Error(`stats error: ${await page.locator('main .notice.error').first().innerText()}`);
  await page.getByTestId('stats-event').selectOption({ label: 'Console Buyers Show' });
  await page.getByTestId('stats-event-detail').locator('.stat').first().waitFor();
  await page.getByTestId('queue-chart').scrollIntoViewIfNeeded();
  await shot(page, 'console_07_statistics');
  await axeCheck(page, 'console_07_statistics');
  step('statistics drawn');

  // Clear asks first; declined, nobody is removed.
  await page.goto(`${baseUrl}/#/admin/queue/${queueEventId}`);
  await page.getByTestId('q-waiting').filter({ hasText: /Waiting\s*1$/ }).waitFor();
  await page.getByTestId('q-clear').click();
  await page.getByTestId('confirm-dialog').getByText('It cannot be undone').waitFor();
  await shot(page, 'console_06_clear_confirm');
  await axeCheck(page, 'console_06_clear_confirm');
  await page.getByTestId('confirm-no').click();
  await page.getByTestId('confirm-dialog').waitFor({ state: 'detached' });
  const kept = await call('GET', `/api/queue/admin/${queueEventId}`, adminToken);
  if (kept.queueSize !== 1) throw new Error(`declining Clear removed fans: ${JSON.stringify(kept)}`);
  await page.getByTestId('q-clear').click();
  await page.getByTestId('confirm-yes').click();
  await page.getByText(/Queue cleared \(1 waiting, 1 shopping removed\)\./).waitFor();
  step('clear confirmed');

  // On a phone: the queue control, with its message and the destructive Clear.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${baseUrl}/#/admin/queue/${queueEventId}`);
  await page.getByTestId('q-message-now').filter({ hasText: message }).waitFor();
  await page.getByTestId('q-message').scrollIntoViewIfNeeded();
  await shot(page, 'console_08_queue_phone');
  await axeCheck(page, 'console_08_queue_phone');
  step('phone');

  // In Korean, a refused setting is explained next to its field in Korean, never in the
  // server's English.
  await page.getByTestId('lang').click();
  await page.getByRole('button', { name: '대기열 비우기' }).waitFor();
  await page.getByLabel('응답 없는 팬 유지 시간 (초)').fill('5');
  await page.getByTestId('save-queue').click();
  await page.locator('.field-error').filter({ hasText: '10에서 86400 사이로 입력하세요.' }).waitFor();
  await page.getByText('표시된 항목을 확인하세요.').waitFor();
  const words = await page.locator('main').innerText();
  if (/must be|between \d|validation/i.test(words)) throw new Error(`English server text on a Korean page: ${words}`);
  step('korean errors');
  await b.close();
});
