// The seat map of a seated event: the stage, a section overview drawn from the layout (its own
// order, nearest the stage first, each block as wide as its rows), the seats of the chosen section
// (every section at once for a small venue), "best available N seats", the legend, the selection
// and the hold button. One Tab stop for the whole grid: arrow keys move between seats (roving
// tabindex), Enter or Space picks one. Seat statuses live in a model, so live updates reach seats
// of sections that are not drawn at the moment.
import { t, won, getLang } from './i18n.js';
import { h, notice } from './ui.js';

/** Above this many seats only the chosen section's seats are drawn (a phone stays fast). */
const DRAW_ALL_UP_TO = 400;

/**
 * The sections of the seat map in the layout's order (nearest the stage first). Sections with
 * seats but missing from the layout follow in the order the seats come. Rows are sorted by
 * number (rows are numbered from the stage: `startRow` continues across sections), seats by
 * number.
 */
export function sectionsOf(data) {
  const bySection = new Map();
  for (const s of data.seats || []) {
    if (!bySection.has(s.section)) bySection.set(s.section, []);
    bySection.get(s.section).push(s);
  }
  const layoutSections = (data.layout?.sections || []).filter((x) => x && bySection.has(x.name));
  const names = [...new Set([...layoutSections.map((x) => x.name), ...bySection.keys()])];
  return names.map((name) => {
    const conf = layoutSections.find((x) => x.name === name) || {};
    const rowMap = new Map();
    for (const s of bySection.get(name)) {
      if (!rowMap.has(s.row_number)) rowMap.set(s.row_number, []);
      rowMap.get(s.row_number).push(s);
    }
    const rows = [...rowMap].sort((a, b) => a[0] - b[0])
      .map(([no, seats]) => ({ no, seats: seats.sort((a, b) => a.seat_number - b.seat_number) }));
    const seats = rows.flatMap((r) => r.seats);
    return {
      name,
      price: conf.price ?? Math.min(...seats.map((s) => Number(s.price))),
      rows,
      seats,
      width: Number(conf.seatsPerRow) || Math.max(...rows.map((r) => r.seats.length)),
      depth: Number(conf.rows) || rows.length,
    };
  });
}

/**
 * The best `n` seats of a section: `n` adjacent available seats (consecutive numbers) in the row
 * nearest the stage, nearest the row's centre. When no row has `n` together, the `n` available
 * seats nearest the stage and the centre (`together: false`). Null when fewer than `n` are left.
 */
export function bestAvailable(section, n, isFree) {
  const free = section.seats.filter(isFree);
  if (free.length < n || n < 1) return null;
  let best = null;
  section.rows.forEach((row, ri) => {
    const nums = row.seats.map((s) => s.seat_number);
    const centre = (Math.min(...nums) + Math.max(...nums)) / 2;
    for (let i = 0; i + n <= row.seats.length; i += 1) {
      const run = row.seats.slice(i, i + n);
      const adjacent = run.every((s, k) => isFree(s) && (k === 0 || s.seat_number === run[k - 1].seat_number + 1));
      if (!adjacent) continue;
      const off = Math.abs((run[0].seat_number + run[n - 1].seat_number) / 2 - centre);
      if (!best || ri < best.ri || (ri === best.ri && off < best.off)) best = { ri, off, seats: run };
    }
  });
  if (best) return { seats: best.seats, together: true };
  // Apart: nearest the stage first, then nearest the centre of the row.
  const score = new Map();
  section.rows.forEach((row, ri) => {
    const nums = row.seats.map((s) => s.seat_number);
    const centre = (Math.min(...nums) + Math.max(...nums)) / 2;
    row.seats.forEach((s) => score.set(s.id, ri * 10000 + Math.abs(s.seat_number - centre)));
  });
  return { seats: free.sort((a, b) => score.get(a.id) - score.get(b.id)).slice(0, n), together: false };
}

/**
 * Builds the seat picker for `data` (GET /api/seats/events/:id). `max` is the per-fan limit;
 * `hold(seatIds)` holds the chosen seats (and leaves the page); its error is shown here.
 * Returns `{el, setStatus(seatId, status), sync(seats)}`: `setStatus` takes the live updates,
 * `sync` a fresh seat list (after a reconnect, for the updates missed meanwhile).
 */
export function seatPicker(data, { eventId, max, hold }) {
  const sections = sectionsOf(data);
  const seatById = new Map(sections.flatMap((sec) => sec.seats.map((s) => [s.id, { ...s, sectionRef: sec }])));
  const drawAll = seatById.size <= DRAW_ALL_UP_TO;
  const chosen = new Map(); // seat id -> seat, in the order picked
  const buttons = new Map(); // seat id -> button, for the seats drawn now
  const blocks = new Map(); // section name -> overview button
  const storeKey = `tiketi.seats.${eventId}`;
  let current = null; // the chosen section
  let closed = false; // the admission ran out: nothing can be chosen or held any more

  const msg = h('div', { class: 'sm-msg', 'aria-live': 'assertive' });
  const summary = h('p', { 'data-testid': 'selection' }, t('pick_seat'));
  const holdBtn = h('button', { class: 'primary', disabled: true, 'data-testid': 'hold' }, t('hold'));
  const keysHint = h('p', { id: 'sm-keys', class: 'muted sm-keys' }, t('sm_keys'));
  // One horizontal scroller for the drawn sections (so it always holds the grid's Tab stop), on a
  // canvas as wide as the widest section: every section is centred on the same line as the stage.
  const canvas = h('div', { class: 'sm-canvas' });
  const grid = h('div', { class: 'sm-grid', role: 'group', 'aria-label': t('sm_seats'), 'aria-describedby': 'sm-keys', 'data-testid': 'seat-grid' }, canvas);
  const nSelect = h('select', { id: 'sm-n', 'data-testid': 'best-n' },
    Array.from({ length: max }, (_, i) => h('option', { value: i + 1, selected: i + 1 === Math.min(2, max) }, String(i + 1))));
  const bestBtn = h('button', { type: 'button', class: 'secondary', 'data-testid': 'best' });
  const bestBox = h('div', { class: 'sm-best', hidden: true },
    h('label', { for: 'sm-n' }, t('sm_best_n')), nSelect, bestBtn);
  const placeholder = h('p', { class: 'notice info sm-placeholder' }, t('sm_choose_section'));

  const isFree = (s) => seatById.get(s.id)?.status === 'available';
  const available = (sec) => sec.seats.reduce((a, s) => a + (isFree(s) ? 1 : 0), 0);
  const seatName = (s) => t('sm_seat', { section: s.section, row: s.row_number, n: s.seat_number, status: t(chosen.has(s.id) ? 'mine' : s.status) });

  const save = () => {
    try { sessionStorage.setItem(storeKey, JSON.stringify([...chosen.keys()])); } catch { /* private mode: nothing kept */ }
  };
  const refresh = () => {
    const total = [...chosen.values()].reduce((a, s) => a + Number(s.price), 0);
    summary.textContent = chosen.size ? `${t('selected')}: ${[...chosen.values()].map((s) => s.seat_label).join(', ')} · ${t('total')} ${won(total)}` : t('pick_seat');
    holdBtn.disabled = closed || chosen.size === 0;
    save();
  };
  const paint = (b, s) => {
    b.dataset.status = s.status;
    const mine = chosen.has(s.id);
    b.setAttribute('aria-pressed', mine ? 'true' : 'false');
    if (s.status === 'available' && !closed) b.removeAttribute('aria-disabled'); else b.setAttribute('aria-disabled', 'true');
    // A seat of ours someone else just took says so at the seat itself for a while.
    const note = b.querySelector('.seat-note');
    if (takenNotes.has(s.id) && s.status !== 'available') {
      b.setAttribute('aria-label', `${seatName(s)} · ${t('seat_taken_here')}`);
      if (!note) b.append(h('span', { class: 'seat-note', 'data-testid': 'seat-note' }, t('seat_taken_here')));
    } else {
      takenNotes.delete(s.id);
      note?.remove();
      b.setAttribute('aria-label', seatName(s));
    }
  };
  const takenNotes = new Set();
  const paintBlock = (sec) => {
    const b = blocks.get(sec.name);
    if (!b) return;
    const n = available(sec);
    b.dataset.soldOut = n === 0 ? 'true' : 'false';
    b.querySelector('.sm-left').textContent = t('sm_left', { n: n.toLocaleString(getLang() === 'ko' ? 'ko-KR' : 'en-GB') });
  };

  /** Marks `seatId` with `status` wherever it is; a seat of ours taken by someone else is let go. */
  const setStatus = (seatId, status) => {
    const s = seatById.get(seatId);
    if (!s || s.status === status) return;
    s.status = status;
    if (status !== 'available' && chosen.has(seatId)) {
      chosen.delete(seatId);
      msg.replaceChildren(notice('error', t('seat_taken_at', { label: s.seat_label })));
      takenNotes.add(seatId);
      setTimeout(() => {
        if (!takenNotes.delete(seatId)) return;
        const b = buttons.get(seatId);
        if (b) paint(b, seatById.get(seatId));
      }, 8000);
      refresh();
    }
    const b = buttons.get(seatId);
    if (b) paint(b, s);
    // Bring a seat just taken from the fan sideways into view (not under the sticky row numbers),
    // so its note can be read; the page itself does not move.
    if (b && takenNotes.has(seatId)) {
      const g = grid.getBoundingClientRect();
      const r = b.getBoundingClientRect();
      if (r.left < g.left + 80 || r.right > g.right - 80) grid.scrollLeft += (r.left + r.width / 2) - (g.left + g.width / 2);
    }
    paintBlock(s.sectionRef);
  };

  const toggle = (s, b) => {
    if (closed || s.status !== 'available') return;
    if (chosen.has(s.id)) chosen.delete(s.id);
    else {
      if (chosen.size >= max) { msg.replaceChildren(notice('error', t('max_seats', { n: max }))); return; }
      chosen.set(s.id, s);
    }
    paint(b, s);
    msg.replaceChildren();
    refresh();
  };

  // --- the grid: one Tab stop, arrow keys within
  const focusSeat = (b) => {
    if (!b) return;
    grid.querySelectorAll('button.seat[tabindex="0"]').forEach((x) => x.setAttribute('tabindex', '-1'));
    b.setAttribute('tabindex', '0');
    b.focus();
    b.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  };
  grid.addEventListener('focusin', (ev) => {
    const b = ev.target.closest?.('button.seat');
    if (!b || b.getAttribute('tabindex') === '0') return;
    grid.querySelectorAll('button.seat[tabindex="0"]').forEach((x) => x.setAttribute('tabindex', '-1'));
    b.setAttribute('tabindex', '0');
  });
  grid.addEventListener('keydown', (ev) => {
    const b = ev.target.closest?.('button.seat');
    if (!b) return;
    const row = b.closest('.seat-row');
    const inRow = [...row.querySelectorAll('button.seat')];
    const i = inRow.indexOf(b);
    let target = null;
    if (ev.key === 'ArrowLeft') target = inRow[i - 1];
    else if (ev.key === 'ArrowRight') target = inRow[i + 1];
    else if (ev.key === 'Home') target = inRow[0];
    else if (ev.key === 'End') target = inRow[inRow.length - 1];
    else if (ev.key === 'ArrowUp' || ev.key === 'ArrowDown') {
      const rows = [...grid.querySelectorAll('.seat-row')];
      const next = rows[rows.indexOf(row) + (ev.key === 'ArrowUp' ? -1 : 1)];
      if (next) {
        // The seat straight above or below (rows are centred, so by position, not by number).
        const x = b.getBoundingClientRect().left;
        target = [...next.querySelectorAll('button.seat')]
          .reduce((a, c) => (Math.abs(c.getBoundingClientRect().left - x) < Math.abs(a.getBoundingClientRect().left - x) ? c : a));
      }
    } else return;
    ev.preventDefault();
    focusSeat(target);
  });

  const drawSection = (sec) => {
    const rowsBox = h('div', { class: 'sm-rows' });
    for (const row of sec.rows) {
      const line = h('div', { class: 'seat-row', 'data-row': row.no },
        h('span', { class: 'row-label', 'aria-hidden': 'true' }, row.no));
      for (const seat of row.seats) {
        const s = seatById.get(seat.id);
        const b = h('button', { type: 'button', class: 'seat', tabindex: '-1', 'data-id': s.id, 'data-label': s.seat_label, title: `${s.seat_label} · ${won(s.price)}` }, s.seat_number);
        b.addEventListener('click', () => toggle(s, b));
        paint(b, s);
        buttons.set(s.id, b);
        line.append(b);
      }
      line.append(h('span', { class: 'row-label', 'aria-hidden': 'true' }, row.no));
      rowsBox.append(line);
    }
    return h('section', { class: 'sm-section', 'data-section': sec.name, 'aria-label': t('sm_section', { name: sec.name }) },
      h('h2', {}, t('sm_section', { name: sec.name }), ' ', h('span', { class: 'muted' }, won(sec.price))),
      rowsBox);
  };

  /** Gives the grid its one Tab stop: a picked seat, else the first free seat nearest the stage. */
  const rove = () => {
    const all = [...grid.querySelectorAll('button.seat')];
    const first = all.find((b) => b.getAttribute('aria-pressed') === 'true') || all.find((b) => b.dataset.status === 'available') || all[0];
    if (first) first.setAttribute('tabindex', '0');
  };

  const drawGrid = () => {
    buttons.clear();
    if (drawAll) canvas.replaceChildren(...sections.map(drawSection));
    else canvas.replaceChildren(...(current ? [drawSection(current)] : []));
    placeholder.hidden = Boolean(current) || drawAll;
    grid.hidden = !canvas.childElementCount;
    keysHint.hidden = grid.hidden;
    rove();
    // Start centred, under the stage.
    requestAnimationFrame(() => { grid.scrollLeft = (grid.scrollWidth - grid.clientWidth) / 2; });
  };

  const choose = (sec, { scroll = true } = {}) => {
    current = sec;
    blocks.forEach((b, name) => b.setAttribute('aria-current', name === sec.name ? 'true' : 'false'));
    bestBtn.textContent = t('sm_best', { name: sec.name });
    bestBox.hidden = false;
    if (!drawAll) drawGrid();
    grid.querySelectorAll('.sm-section').forEach((x) => x.classList.toggle('current', x.dataset.section === sec.name));
    const el = grid.querySelector(`.sm-section[data-section="${CSS.escape(sec.name)}"]`);
    if (scroll && el) el.scrollIntoView({ block: 'start', behavior: 'smooth' });
  };

  bestBtn.addEventListener('click', () => {
    if (closed || !current) return;
    const n = Number(nSelect.value);
    const pick = bestAvailable(current, n, isFree);
    if (!pick) { msg.replaceChildren(notice('error', t('sm_best_none', { n: available(current) }))); return; }
    const before = [...chosen.keys()];
    chosen.clear();
    pick.seats.forEach((s) => chosen.set(s.id, seatById.get(s.id)));
    before.forEach((sid) => { const b = buttons.get(sid); if (b) paint(b, seatById.get(sid)); });
    pick.seats.forEach((s) => { const b = buttons.get(s.id); if (b) paint(b, seatById.get(s.id)); });
    refresh();
    msg.replaceChildren(notice(pick.together ? 'ok' : 'info', t(pick.together ? 'sm_best_ok' : 'sm_best_apart', { n })));
    const first = buttons.get(pick.seats[0].id);
    if (first) {
      grid.querySelectorAll('button.seat[tabindex="0"]').forEach((x) => x.setAttribute('tabindex', '-1'));
      first.setAttribute('tabindex', '0');
      first.scrollIntoView({ block: 'center', inline: 'center' });
    }
  });

  holdBtn.addEventListener('click', async () => {
    holdBtn.disabled = true;
    try {
      await hold([...chosen.keys()]);
      try { sessionStorage.removeItem(storeKey); } catch { /* nothing kept */ }
    } catch (e) {
      msg.replaceChildren(notice('error', e));
      if (e.code === 'seat_unavailable' && e.details?.seatIds) e.details.seatIds.forEach((sid) => setStatus(sid, 'locked'));
      holdBtn.disabled = chosen.size === 0;
    }
  });

  // --- the overview: sections as blocks under the stage, as wide as their rows are long
  const widest = Math.max(1, ...sections.map((s) => s.width));
  const overview = h('div', { class: 'sm-overview', role: 'group', 'aria-label': t('sm_overview') },
    sections.map((sec) => {
      const b = h('button', { type: 'button', class: 'sm-block', 'data-section': sec.name, 'data-testid': `section-${sec.name}`, 'aria-current': 'false' },
      h('strong', {}, t('sm_section', { name: sec.name })), ' ',
      h('span', {}, won(sec.price)), ' ',
      h('span', { class: 'sm-left' }));
      // As wide as the section's rows are long, as deep as it has rows (within touch sizes).
      b.style.width = `${Math.max(45, Math.round((100 * sec.width) / widest))}%`;
      b.style.minHeight = `${Math.min(96, 44 + 2 * sec.depth)}px`;
      b.addEventListener('click', () => choose(sec));
      blocks.set(sec.name, b);
      paintBlock(sec);
      return b;
    }));

  const legend = h('ul', { class: 'legend', 'aria-label': t('sm_legend') },
    [['available', 'available'], ['mine', 'mine'], ['locked', 'locked'], ['reserved', 'reserved']].map(([st, key]) =>
      h('li', {}, h('span', { class: 'swatch', 'data-status': st, 'aria-hidden': 'true' }), t(key))));

  // A selection kept from before (a language switch re-renders the page): the seats still free.
  try {
    const kept = JSON.parse(sessionStorage.getItem(storeKey) || '[]');
    for (const sid of kept) {
      const s = seatById.get(sid);
      if (s && s.status === 'available' && chosen.size < max) chosen.set(sid, s);
    }
  } catch { /* nothing kept */ }

  const el = h('div', { class: 'sm' },
    h('div', { class: 'stage' }, t('sm_stage')),
    overview,
    legend,
    bestBox,
    placeholder,
    keysHint,
    grid,
    h('div', { class: 'sticky-bar' }, summary, msg, holdBtn));
  const first = chosen.size ? [...chosen.values()][0].sectionRef : (drawAll ? sections[0] : null);
  if (drawAll) drawGrid();
  if (first) choose(first, { scroll: false });
  else drawGrid();
  refresh();
  /**
   * The admission ran out: the choice is dropped and nothing can be chosen or held. Seats stay
   * focusable (`aria-disabled`, not `disabled`), so the grid keeps its Tab stop and can still be
   * scrolled and read by keyboard.
   */
  const lapse = () => {
    closed = true;
    const was = [...chosen.keys()];
    chosen.clear();
    was.forEach((sid) => { const b = buttons.get(sid); if (b) paint(b, seatById.get(sid)); });
    buttons.forEach((b, sid) => paint(b, seatById.get(sid)));
    bestBtn.disabled = true;
    nSelect.disabled = true;
    refresh();
  };
  return { el, setStatus, lapse, sync: (seats) => seats.forEach((s) => setStatus(s.id, s.status)) };
}
