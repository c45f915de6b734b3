/** Marks an error whose JSON result the command already printed, so the CLI entry adds none. */
export const JSON_PRINTED = Symbol('jsonPrinted');

export function markJsonPrinted<E extends object>(e: E, printed = true): E {
  return printed ? Object.assign(e, { [JSON_PRINTED]: true }) : e;
}
