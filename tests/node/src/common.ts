// What every scenario shares: the client pointed at the thumbs server named by the
// environment, and the JSON the test reads back (one object on stdout).
import twilio from "twilio";
import RestException from "twilio/lib/base/RestException";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function env(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set`);
  }
  return value;
}

/** A client of `TWILIO_ACCOUNT_SID`/`TWILIO_AUTH_TOKEN` whose Assistants calls go to thumbs. */
export function client(token: string = env("TWILIO_AUTH_TOKEN")): twilio.Twilio {
  const made = twilio(env("TWILIO_ACCOUNT_SID"), token);
  made.assistants.baseUrl = env("THUMBS_URL");
  return made;
}

/** A date the library parsed: its ISO form, or what it was when it is not a Date. */
export function date(value: unknown): Json {
  return value instanceof Date && !Number.isNaN(value.getTime())
    ? value.toISOString()
    : `not a Date: ${String(value)}`;
}

export function restError(error: unknown): Json {
  if (!(error instanceof RestException)) {
    throw error;
  }
  return {
    isRestException: true,
    status: error.status,
    code: error.code ?? null,
    message: error.message,
    moreInfo: error.moreInfo ?? null,
    details: (error.details as Json | undefined) ?? null,
  };
}

/** Run the scenario named by argv[2] (its JSON argument in argv[3]) and print its result. */
export function run(scenarios: Record<string, (arg: Json) => Promise<Json>>): void {
  const name = process.argv[2];
  const scenario = scenarios[name];
  if (scenario === undefined) {
    console.error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(", ")}`);
    process.exit(2);
  }
  const arg = process.argv[3] === undefined ? null : (JSON.parse(process.argv[3]) as Json);
  scenario(arg).then(
    (result) => process.stdout.write(JSON.stringify(result) + "\n"),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
