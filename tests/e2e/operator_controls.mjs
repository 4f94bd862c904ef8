// Scenario (e): the controls around a live queue and an event, with a fan and an operator side by
// side. The fan leaves the waiting room with its button and joins again; the operator pauses
// admissions (a freed slot stays free), resumes them (the queue moves), clears the queue (the
// fan is told, and may join again); then edits the event (a new title, the artist cleared) and
// cancels it, and the fan sees both.
import { launch, watch, shot, step, call, main, baseUrl, args, axeCheck } from './lib.mjs';

const { eventId, fanToken, adminToken, activeToken, newTitle } = args;

/** A browser already signed in as `user` with `token`, in English. */
async function signedIn(token, user, label) {
  const b = await launch();
  await b.context.addInitScript(([token, user]) => {
    if (!sessionStorage.getItem('tiketi.token')) {
      sessionStorage.setItem('tiketi.token', token);
      sessionStorage.setItem('tiketi.user', JSON.stringify(user));
    }
    localStorage.setItem('tiketi.lang', 'en');
  }, [token, user]);
  const page = b.context.pages()[0] || await b.context.newPage();
  watch(page, label);
  return { b, page };
}

const queueView = () => call('GET', `/api/queue/admin/${eventId}`, adminToken);

await main(async () => {
  const fan = await signedIn(fanToken, { name: 'Waiting Fan', role: 'user' }, 'fan');
  const page = fan.page;
  await page.goto(`${baseUrl}/#/events/${eventId}`);
  await page.getByTestId('book').click();
  await page.waitForURL(/#\/events\/.+\/queue/);
  await page.getByTestId('position').filter({ hasText: '2' }).waitFor();
  await page.locator('[data-testid=conn][data-state=connected]').waitFor();

  // The leave button: back on the event page, told so, and out of the queue on the server.
  await page.getByTestId('leave').click();
  await page.waitForURL(new RegExp(`#/events/${eventId}$`));
  await page.getByText('You left the queue.').waitFor();
  const afterLeave = await queueView();
  if (afterLeave.queueSize !== 1) throw new Error(`after leaving, ${afterLeave.queueSize} wait`);
  await shot(page, 'fan-12-left-the-queue');
  await axeCheck(page, 'event page after leaving the queue');
  step('left the queue');

  // Joining again puts the fan at the tail again.
  await page.getByTestId('book').click();
  await page.getByTestId('position').filter({ hasText: '2' }).waitFor();
  step('rejoined');

  const ops = await signedIn(adminToken, { name: 'Operator', role: 'admin' }, 'admin');
  const admin = ops.page;
  await admin.setViewportSize({ width: 1100, height: 800 });
  await admin.goto(`${baseUrl}/#/admin/queue/${eventId}`);
  await admin.getByTestId('q-waiting').filter({ hasText: '2' }).waitFor();
  await admin.getByTestId('q-active').filter({ hasText: '1' }).waitFor();

  // Pause: the shopping fan leaves, and the freed slot stays free for a while (the processor
  // ticks every 200 ms here, so 1.5 s is seven chances to admit someone).
  await admin.getByTestId('q-pause').click();
  await admin.getByText('Admissions paused; fans can still join the queue.').waitFor();
  await admin.getByTestId('q-state').filter({ hasText: 'Paused' }).waitFor();
  await call('POST', `/api/queue/leave/${eventId}`, activeToken);
  await admin.getByTestId('q-active').filter({ hasText: /^Shopping\s*0$/ }).waitFor();
  const until = Date.now() + 1500;
  while (Date.now() < until) {
    const v = await queueView();
    if (v.currentUsers !== 0 || v.queueSize !== 2) throw new Error(`admitted while paused: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  await page.getByTestId('position').filter({ hasText: '2' }).waitFor();
  await shot(admin, 'admin-06-queue-paused');
  await axeCheck(admin, 'queue control, paused');
  await axeCheck(page, 'waiting room, paused');
  step('paused holds admissions');

  // Resume: the fan ahead is admitted, and the browser's fan moves up by a push.
  await admin.getByTestId('q-resume').click();
  await admin.getByText('Admissions resumed.').waitFor();
  await admin.getByTestId('q-state').filter({ hasText: 'Running' }).waitFor();
  await page.getByTestId('position').filter({ hasText: '1' }).waitFor({ timeout: 10000 });
  await admin.getByTestId('q-active').filter({ hasText: /^Shopping\s*1$/ }).waitFor();
  step('resumed');

  // Clear: everyone out; the waiting fan is told at once and may join again.
  await admin.getByTestId('q-clear').click();
  await admin.getByTestId('confirm-yes').click();
  await admin.getByText('Queue cleared (1 waiting, 1 shopping removed).').waitFor();
  await page.getByText('The queue was cleared by an operator.').waitFor();
  await admin.getByTestId('q-waiting').filter({ hasText: /^Waiting\s*0$/ }).waitFor();
  await admin.getByTestId('q-active').filter({ hasText: /^Shopping\s*0$/ }).waitFor();
  await shot(page, 'fan-13-queue-cleared');
  await shot(admin, 'admin-07-queue-cleared');
  await axeCheck(page, 'waiting room, cleared');
  await axeCheck(admin, 'queue control, cleared');
  step('cleared');
  await page.getByTestId('rejoin').click();
  await page.waitForURL(/#\/events\/.+\/seats/, { timeout: 10000 });
  await page.locator('.seat').first().waitFor();
  step('joined again after clear');

  // Edit: a new title, and the artist emptied (an emptied field clears the value).
  await admin.goto(`${baseUrl}/#/admin/events/${eventId}`);
  await admin.getByLabel('Title').fill(newTitle);
  await admin.getByLabel('Artist').fill('');
  await admin.getByTestId('save-event').click();
  await admin.getByText('Saved.').waitFor();
  await admin.getByRole('heading', { name: newTitle }).waitFor();
  if ((await admin.getByLabel('Artist').inputValue()) !== '') throw new Error('the artist was not cleared');
  await shot(admin, 'admin-08-event-edited');
  await axeCheck(admin, 'event form, edited');
  await page.goto(`${baseUrl}/#/`);
  await page.locator('.card').filter({ hasText: newTitle }).waitFor();
  step('event edited');

  // Cancel: the event shows as cancelled to the operator and to the fan, and cannot be booked.
  await admin.getByTestId('cancel-event').click();
  await admin.getByTestId('confirm-yes').click();
  await admin.getByText('Event cancelled; 0 paid reservations refunded.').waitFor();
  await admin.getByRole('heading', { name: newTitle }).locator('.chip.cancelled').waitFor();
  if (await admin.getByTestId('cancel-event').count()) throw new Error('a cancelled event still offers cancelling');
  await shot(admin, 'admin-09-event-cancelled');
  await axeCheck(admin, 'event form, cancelled');
  await page.goto(`${baseUrl}/#/events/${eventId}`);
  await page.locator('.chip.cancelled').waitFor();
  await page.getByText('Not on sale right now.').waitFor();
  if (await page.getByTestId('book').count()) throw new Error('a cancelled event can still be booked');
  await axeCheck(page, 'cancelled event page');
  step('event cancelled');

  await ops.b.close();
  await fan.b.close();
});
