/** The success envelope of limits, SDR, usage and accounts: `{data, code: 200, message: "OK"}`. */
export interface Ok<T> {
  data: T;
  code: 200;
  message: 'OK';
}

export function ok<T>(data: T): Ok<T> {
  return { data, code: 200, message: 'OK' };
}
