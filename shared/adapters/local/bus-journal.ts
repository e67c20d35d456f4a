/**
 * Where the in-process bus keeps what it has not delivered yet, so a killed `mediaflow process` loses nothing:
 * every message is written here for each subscription it is attached to before any delivery, its failed attempts
 * are counted here, and it leaves only when its subscription acks it or dead-letters it. The next process that
 * opens the same file redelivers what is left, with the attempt count it had reached.
 *
 * It lives in the embedded runtime's SQLite file beside the documents (its own tables, its own connection), so
 * the state and the messages that move it are kept, copied and deleted together.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

export interface JournaledMessage {
  readonly id: string;
  readonly topic: string;
  readonly publishTime: Date;
  readonly data: Buffer;
  readonly attributes: Readonly<Record<string, string>>;
}

export interface PendingMessage {
  readonly message: JournaledMessage;
  /** Failed attempts so far; the next delivery is attempt `failures + 1`. */
  readonly failures: number;
}

export interface BusJournal {
  /** A message id no earlier process using this journal has issued. */
  nextId(): string;
  /** Records a message for the subscriptions it is attached to, before the first delivery. */
  record(message: JournaledMessage, subscriptions: readonly string[]): void;
  /** One more failed attempt (a nack, a missed ack deadline). */
  failed(subscription: string, messageId: string, failures: number): void;
  /** Acked, or handed to the dead-letter topic: the subscription is done with it. */
  settled(subscription: string, messageId: string): void;
  /** What a subscription still owes, oldest first. */
  pending(subscription: string): PendingMessage[];
  close(): void;
}

const BUSY_TIMEOUT_MS = 5_000;

export class SqliteBusJournal implements BusJournal {
  readonly #db: DatabaseSync;
  readonly #insert;
  readonly #fail;
  readonly #settle;
  readonly #pending;
  readonly #next;

  private constructor(db: DatabaseSync) {
    this.#db = db;
    this.#insert = db.prepare(`INSERT OR IGNORE INTO bus_messages (subscription, id, seq, topic, publish_time, data, attributes, failures)
      VALUES (?, ?, ?, ?, ?, ?, ?, 0)`);
    this.#fail = db.prepare('UPDATE bus_messages SET failures = ? WHERE subscription = ? AND id = ?');
    this.#settle = db.prepare('DELETE FROM bus_messages WHERE subscription = ? AND id = ?');
    this.#pending = db.prepare('SELECT id, topic, publish_time, data, attributes, failures FROM bus_messages WHERE subscription = ? ORDER BY seq');
    this.#next = db.prepare("UPDATE bus_sequence SET value = value + 1 WHERE name = 'message' RETURNING value");
  }

  static open(filePath: string): SqliteBusJournal {
    mkdirSync(dirname(filePath), { recursive: true });
    const db = new DatabaseSync(filePath, { timeout: BUSY_TIMEOUT_MS });
    db.exec('PRAGMA journal_mode = WAL');
    // NORMAL, as for the documents: in WAL mode a commit is in the log file when it returns, so it survives the
    // process being killed; only a power loss can take the last commits, and it takes the documents' with them.
    db.exec('PRAGMA synchronous = NORMAL');
    db.exec(`CREATE TABLE IF NOT EXISTS bus_messages (
      subscription TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, topic TEXT NOT NULL, publish_time TEXT NOT NULL,
      data BLOB NOT NULL, attributes TEXT NOT NULL, failures INTEGER NOT NULL, PRIMARY KEY (subscription, id))`);
    db.exec('CREATE INDEX IF NOT EXISTS bus_messages_by_seq ON bus_messages (subscription, seq)');
    db.exec('CREATE TABLE IF NOT EXISTS bus_sequence (name TEXT PRIMARY KEY, value INTEGER NOT NULL)');
    db.exec("INSERT OR IGNORE INTO bus_sequence VALUES ('message', 0)");
    return new SqliteBusJournal(db);
  }

  nextId(): string {
    const row = this.#next.get() as { value: number } | undefined;
    if (!row) throw new Error('bus journal: the message sequence row is missing');
    return String(row.value);
  }

  record(message: JournaledMessage, subscriptions: readonly string[]): void {
    if (subscriptions.length === 0) return;
    const attributes = JSON.stringify(message.attributes);
    const publishTime = message.publishTime.toISOString();
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      for (const subscription of subscriptions) {
        this.#insert.run(subscription, message.id, Number(message.id), message.topic, publishTime, message.data, attributes);
      }
      this.#db.exec('COMMIT');
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  failed(subscription: string, messageId: string, failures: number): void {
    this.#fail.run(failures, subscription, messageId);
  }

  settled(subscription: string, messageId: string): void {
    this.#settle.run(subscription, messageId);
  }

  pending(subscription: string): PendingMessage[] {
    return this.#pending.all(subscription).map((row) => {
      const {
        id,
        topic,
        publish_time: publishTime,
        data,
        attributes,
        failures,
      } = row as {
        id: string;
        topic: string;
        publish_time: string;
        data: Uint8Array;
        attributes: string;
        failures: number;
      };
      return {
        message: { id, topic, publishTime: new Date(publishTime), data: Buffer.from(data), attributes: Object.freeze(parseAttributes(attributes)) },
        failures,
      };
    });
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}

function parseAttributes(text: string): Record<string, string> {
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('bus journal: a message has malformed attributes');
  return Object.fromEntries(Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}
