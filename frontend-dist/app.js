// Tiketi web client entry: lists events from GET /api/events (the wire contract) with search.
const list = document.getElementById('events');
const message = document.getElementById('message');

const statusText = {
  upcoming: '오픈 예정 Upcoming',
  on_sale: '예매 중 On sale',
  sold_out: '매진 Sold out',
  ended: '종료 Ended',
  cancelled: '취소 Cancelled',
};

function won(n) {
  return n == null ? '' : `${Number(n).toLocaleString('ko-KR')}원`;
}

function when(iso) {
  return new Date(iso).toLocaleString('ko-KR', { dateStyle: 'medium', timeStyle: 'short' });
}

function render(events) {
  list.replaceChildren();
  for (const e of events) {
    const li = document.createElement('li');
    li.className = 'event';
    const status = document.createElement('span');
    status.className = `status ${e.status}`;
    status.textContent = statusText[e.status] ?? e.status;
    const title = document.createElement('h2');
    title.textContent = e.title;
    const lines = [
      e.artist_name,
      `${e.venue}`,
      `공연 ${when(e.event_date)}`,
      `예매 ${when(e.sale_start_date)} ~ ${when(e.sale_end_date)}`,
      e.min_price != null ? `${won(e.min_price)} ~ ${won(e.max_price)}` : null,
    ].filter(Boolean);
    li.append(status, title, ...lines.map((text) => {
      const p = document.createElement('p');
      p.className = 'meta';
      p.textContent = text;
      return p;
    }));
    list.append(li);
  }
}

async function load(q) {
  message.textContent = '불러오는 중… Loading…';
  const params = new URLSearchParams({ limit: '50' });
  if (q) params.set('q', q);
  try {
    const res = await fetch(`/api/events?${params}`);
    const body = await res.json();
    if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
    render(body.events);
    message.textContent = body.events.length ? '' : '공연이 없습니다. No events found.';
  } catch (err) {
    message.textContent = `공연 목록을 불러오지 못했습니다. Could not load events: ${err.message}`;
  }
}

document.getElementById('search').addEventListener('submit', (ev) => {
  ev.preventDefault();
  load(document.getElementById('q').value.trim());
});

load('');
