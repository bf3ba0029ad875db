// Plain JavaScript calls of the official library against thumbs, as a JavaScript user
// writes them: snake_case objects (the names of the API's own JSON), no request classes.
"use strict";
const twilio = require("twilio");

const env = (name) => {
  if (!process.env[name]) throw new Error(`${name} is not set`);
  return process.env[name];
};

function client(token = env("TWILIO_AUTH_TOKEN")) {
  const made = twilio(env("TWILIO_ACCOUNT_SID"), token);
  made.assistants.baseUrl = env("THUMBS_URL");
  return made;
}

const isDate = (value) => value instanceof Date && !Number.isNaN(value.getTime());

async function main() {
  const v1 = client().assistants.v1;
  const assistant = await v1.assistants.create({ name: "Plain JS", personality_prompt: "Be plain." });
  const feedbacks = v1.assistants(assistant.id).feedbacks;
  const created = [];
  for (let i = 0; i < 5; i++) {
    created.push(
      await feedbacks.create({ session_id: `js-${i}`, message_id: `aia_msg_js${i}`, score: i / 4, text: `#${i}` }),
    );
  }
  const limited = await feedbacks.list({ limit: 3 });
  const eached = [];
  await new Promise((resolve, reject) =>
    feedbacks.each({
      pageSize: 2,
      callback: (item) => eached.push(item.id),
      done: (error) => (error ? reject(error) : resolve()),
    }),
  );
  const first = await feedbacks.page({ pageSize: 2 });
  const second = await first.nextPage();
  const reply = await v1.assistants(assistant.id).messages.create({
    identity: "user_id:js",
    body: "Hello?",
    session_id: "js-chat",
  });
  let badScore = null;
  try {
    await feedbacks.create({ session_id: "s", score: 1.5 });
  } catch (error) {
    badScore = { status: error.status, code: error.code, moreInfo: error.moreInfo, details: error.details };
  }
  return {
    assistant: { id: assistant.id, personalityPrompt: assistant.personalityPrompt, dateIsDate: isDate(assistant.dateCreated) },
    created: created.map((f) => ({
      id: f.id,
      sessionId: f.sessionId,
      messageId: f.messageId,
      score: f.score,
      text: f.text,
      dateIsDate: isDate(f.dateCreated),
    })),
    limited: limited.map((f) => f.id),
    eached,
    pages: [first.instances.map((f) => f.id), second.instances.map((f) => f.id)],
    reply: { status: reply.status, sessionId: reply.sessionId, body: reply.body },
    badScore,
  };
}

main().then(
  (result) => process.stdout.write(JSON.stringify(result) + "\n"),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
