// Who the subscriber behind a candidate is: the last link of the answer chain, public ip:port@T →
// inside ip:port → subscriber. One type, built in one place (subscriberFor), whatever told us:
//   log     the NAT line itself named the subscriber (a PPP interface, a firewall user): login only;
//   radius  an accounting session held the inside address at the time (login, MAC, NAS, session);
//   rules   a deterministic NAT rule set gave the inside address (no login of its own).
// This is the `subscriber` object of `megalog search --json` (docs/architecture.md, "Contracts").

export type SubscriberSource = 'log' | 'radius' | 'rules';

/** The subscriber of a candidate; a field nobody told us is null. Times are ISO 8601 with the zone's offset. */
export interface Subscriber {
  login: string | null;
  mac: string | null;
  nas: string | null;
  session_start: string | null;
  session_end: string | null;
  source: SubscriberSource;
}

/** What is known about a candidate's subscriber, from the sources a lookup read. */
export interface SubscriberEvidence {
  /** The login the candidate's first record's line named (DayView.loginName), or null. */
  logLogin: string | null;
  /** The candidate comes from a deterministic NAT rule set (query/rules.ts), not from a log. */
  fromRules?: boolean;
  /** The RADIUS session that held the inside address at T (query/subscriber-radius.ts), or null. */
  radius?: Omit<Subscriber, 'source'> | null;
}

/**
 * The subscriber of a candidate, or null when nothing names one. Every answer builds its candidates'
 * `subscriber` here, so a new source (RADIUS sessions, rules) is one more branch of this function.
 */
export function subscriberFor(ev: SubscriberEvidence): Subscriber | null {
  // The accounting session gives MAC, NAS and the session's times; a login the line named is kept.
  if (ev.radius) return { ...ev.radius, login: ev.logLogin ?? ev.radius.login, source: 'radius' };
  if (ev.logLogin != null) return { login: ev.logLogin, mac: null, nas: null, session_start: null, session_end: null, source: 'log' };
  // A rule names an inside address, never a person: the chain's subscriber step says where it came from.
  if (ev.fromRules) return { login: null, mac: null, nas: null, session_start: null, session_end: null, source: 'rules' };
  return null;
}
