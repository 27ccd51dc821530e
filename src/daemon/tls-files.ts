/**
 * The daemon's TLS certificate and key (`run --tls-cert FILE --tls-key FILE`), read and checked
 * once at start, before the repository is opened: a path that cannot be read, a file that is not
 * PEM, or a key that does not belong to the certificate stops the start with an error naming the
 * file, rather than a server that fails every handshake later.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { FileUnreadableError, InvalidArgumentError } from '../errors.js';

/** Where the certificate chain and its private key are (PEM files). */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** The PEM contents of {@link TlsFiles}, checked to make a TLS server context. */
export interface TlsPem {
  cert: Buffer;
  key: Buffer;
}

function readPem(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new FileUnreadableError(`${flag} ${file}: cannot read it (${(err as Error).message})`, { cause: err });
  }
}

/** Reads and checks the certificate and key. */
export function readTlsFiles(files: TlsFiles): TlsPem {
  const cert = readPem(files.certFile, '--tls-cert');
  const key = readPem(files.keyFile, '--tls-key');
  if (!cert.includes('-----BEGIN CERTIFICATE-----')) throw new InvalidArgumentError(`--tls-cert ${files.certFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key.toString('latin1'))) {
    throw new InvalidArgumentError(`--tls-key ${files.keyFile} holds no PEM private key (-----BEGIN … PRIVATE KEY-----)`);
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new InvalidArgumentError(`--tls-cert ${files.certFile} and --tls-key ${files.keyFile} do not make a TLS certificate and its key: ${(err as Error).message}`, { cause: err });
  }
  return { cert, key };
}
