// Deterministic NAT in a forensic answer (engine.ts): when no log covers T, the rule set in
// force at T answers, and says so (Answer.rules.basis 'rules', each candidate the mapping and the
// rule's own line as its evidence); when logs answer, the rules in force are checked against them
// (agrees / disagrees), so a court reply can say both sources name the same subscriber.
import { existsSync } from 'node:fs';
import { ipFromDb, protoName } from '../store/codes.js';
import { formatInZone } from '../core/time.js';
import type { Candidate } from './candidate.js';
import { subscriberFor } from './subscriber.js';
import { RulesDb, type RuleHit } from '../rules/store.js';

export interface RulesInAnswer {
  /** 'rules': the candidates come from the rule set (no log covered T); 'logs': they come from logs. */
  basis: 'logs' | 'rules';
  /** logs basis: whether every inside address the logs name is the one the rules name. */
  check: 'agrees' | 'disagrees' | null;
  set: { id: number; file_name: string; sha256: string; valid_from: string; valid_to: string | null; case_ref: string };
  /** The inside addresses the rules name. */
  inside: string[];
}

/**
 * What the rules in force at `atMs` say about natIp:port, or null when no rule set maps it. With
 * `answer` (no log covers T) the returned candidates answer; else the logs' candidates are compared.
 */
export function rulesFor(coldDir: string, natIp: number, port: number, atMs: number, proto: number | null, tz: string, answer: boolean, logCandidates: readonly Candidate[]): { rules: RulesInAnswer; candidates: Candidate[] } | null {
  if (!existsSync(RulesDb.pathIn(coldDir))) return null;
  const db = RulesDb.read(coldDir);
  if (!db) return null;
  let hits: RuleHit[];
  try {
    hits = db.lookup(natIp, port, atMs, proto);
  } finally {
    db.close();
  }
  if (!hits.length) return null;
  const set = hits[0]!.set;
  const inside = [...new Set(hits.map((h) => ipFromDb(h.inside)!))];
  const rules: RulesInAnswer = {
    basis: answer ? 'rules' : 'logs',
    check: !answer && logCandidates.length ? (logCandidates.every((c) => c.src_ip !== null && inside.includes(c.src_ip)) ? 'agrees' : 'disagrees') : null,
    set: { id: set.id, file_name: set.file_name, sha256: set.sha256, valid_from: formatInZone(set.valid_from, tz), valid_to: set.valid_to === null ? null : formatInZone(set.valid_to, tz), case_ref: set.case_ref },
    inside,
  };
  const natText = ipFromDb(natIp)!;
  const candidates = hits.map((h): Candidate => {
    const end = h.set.valid_to ?? Math.max(atMs, Date.now());
    return {
      src_ip: ipFromDb(h.inside),
      src_port: null,
      nat_ip: natText,
      nat_port_start: h.portLo,
      nat_port_end: h.portHi,
      proto: h.proto ? protoName(h.proto) : null,
      start: formatInZone(h.set.valid_from, tz),
      end: h.set.valid_to === null ? '' : formatInZone(end, tz),
      device: `rules #${h.set.id}`,
      raw: h.text,
      count: 0,
      kind: 'rules',
      start_ms: h.set.valid_from,
      end_ms: end,
      start_exact: true,
      end_reason: 'rules',
      day: '',
      dst_ip: null,
      dst_port: null,
      subscriber: subscriberFor({ logLogin: null, fromRules: true }),
    };
  });
  return { rules, candidates };
}
