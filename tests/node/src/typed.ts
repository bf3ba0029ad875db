// TypeScript calls of the official library against thumbs, written as its typings demand:
// camelCase object literals and the library's own request classes. tsc checks every call.
import {
  AssistantsV1ServiceCreateAssistantRequest,
  AssistantsV1ServiceCustomerAi,
  AssistantsV1ServiceUpdateAssistantRequest,
  AssistantInstance,
} from "twilio/lib/rest/assistants/v1/assistant";
import {
  AssistantsV1ServiceCreateFeedbackRequest,
  FeedbackInstance,
  FeedbackPage,
} from "twilio/lib/rest/assistants/v1/assistant/feedback";
import { AssistantsV1ServiceAssistantSendMessageRequest } from "twilio/lib/rest/assistants/v1/assistant/message";
import { MessageInstance } from "twilio/lib/rest/assistants/v1/assistant/message";
import { Json, client, date, env, restError, run } from "./common";

function feedbackOut(f: FeedbackInstance): Json {
  return {
    id: f.id,
    assistantId: f.assistantId,
    accountSid: f.accountSid,
    userSid: f.userSid,
    sessionId: f.sessionId,
    messageId: f.messageId,
    score: f.score,
    text: f.text,
    dateCreated: date(f.dateCreated),
    dateUpdated: date(f.dateUpdated),
  };
}

function assistantOut(a: AssistantInstance): Json {
  return {
    id: a.id,
    accountSid: a.accountSid,
    name: a.name,
    owner: a.owner,
    model: a.model,
    personalityPrompt: a.personalityPrompt,
    customerAi: a.customerAi as Json,
    url: a.url,
    dateCreated: date(a.dateCreated),
    dateUpdated: date(a.dateUpdated),
  };
}

function replyOut(m: MessageInstance): Json {
  return {
    status: m.status,
    flagged: m.flagged,
    aborted: m.aborted,
    sessionId: m.sessionId,
    accountSid: m.accountSid,
    body: m.body,
    error: m.error,
  };
}

const feedbacks = (token?: string, assistantId: string = env("ASSISTANT_ID")) =>
  client(token).assistants.v1.assistants(assistantId).feedbacks;

// The typings name the fields in camelCase: a snake_case literal does not compile (if it
// ever did, this directive would be unused and tsc would fail).
export function snakeCaseIsNotTypeScript(): AssistantsV1ServiceCreateFeedbackRequest {
  // @ts-expect-error session_id is not a property of the request type
  const body: AssistantsV1ServiceCreateFeedbackRequest = { session_id: "s" };
  return body;
}

// a page, or what nextPage() resolves to (the library's generic Page of feedback)
type AnyFeedbackPage = FeedbackPage | Awaited<ReturnType<FeedbackPage["nextPage"]>>;

async function pageIds(page: AnyFeedbackPage): Promise<Json> {
  const pages: Json[] = [];
  for (let p: AnyFeedbackPage = page; p !== undefined; p = await p.nextPage()) {
    pages.push({ ids: p.instances.map((f) => f.id), nextPageUrl: p.nextPageUrl ?? null });
  }
  return pages;
}

async function attempt(call: () => Promise<unknown>): Promise<Json> {
  try {
    await call();
  } catch (error) {
    return restError(error);
  }
  return { isRestException: false };
}

run({
  // feedbacks.create with the camelCase literal the typings ask for
  "feedback-literal": async () => {
    const created = await feedbacks().create({
      sessionId: "ts-session",
      messageId: "aia_msg_ts",
      score: 0.75,
      text: "typed",
    });
    return feedbackOut(created);
  },
  // the library's own request class, built from a snake_case payload (it stores camelCase)
  "feedback-class": async () => {
    const request = new AssistantsV1ServiceCreateFeedbackRequest({
      session_id: "class-session",
      message_id: "aia_msg_class",
      score: 0,
      text: "built by the class",
    });
    return { sent: Object.keys(request), created: feedbackOut(await feedbacks().create(request)) };
  },
  "feedback-text-only": async () => feedbackOut(await feedbacks().create({ sessionId: "t", text: "only text" })),
  "feedback-twice": async () =>
    attempt(() =>
      feedbacks().create({ sessionId: "a", session_id: "b" } as unknown as AssistantsV1ServiceCreateFeedbackRequest),
    ),
  list: async (arg) => {
    const options = arg as { limit?: number; pageSize?: number };
    const records = await feedbacks().list(options);
    return records.map(feedbackOut);
  },
  each: async (arg) => {
    const options = arg as { limit?: number; pageSize?: number };
    const ids: string[] = [];
    await new Promise<void>((resolve, reject) => {
      feedbacks().each({
        ...options,
        callback: (item: FeedbackInstance) => {
          ids.push(item.id);
        },
        done: (error?: Error) => (error ? reject(error) : resolve()),
      });
    });
    return ids;
  },
  pages: async (arg) => pageIds(await feedbacks().page({ pageSize: (arg as { pageSize: number }).pageSize })),
  // page() with the Page and PageToken of the first page's next_page_url
  "page-token": async (arg) => {
    const pageSize = (arg as { pageSize: number }).pageSize;
    const first = await feedbacks().page({ pageSize });
    const next = new URL(first.nextPageUrl ?? "").searchParams;
    const second = await feedbacks().page({
      pageSize,
      pageNumber: Number(next.get("Page")),
      pageToken: next.get("PageToken") ?? undefined,
    });
    return { first: first.instances.map((f) => f.id), second: second.instances.map((f) => f.id) };
  },
  errors: async () => ({
    badScore: await attempt(() => feedbacks().create({ sessionId: "s", score: 2 })),
    unknownField: await attempt(() =>
      feedbacks().create({ sessionId: "s", rating: 1 } as unknown as AssistantsV1ServiceCreateFeedbackRequest),
    ),
    wrongTokenCreate: await attempt(() => feedbacks("wrong-token").create({ sessionId: "s" })),
    wrongTokenList: await attempt(() => feedbacks("wrong-token").list({ limit: 1 })),
    unknownAssistantCreate: await attempt(() =>
      feedbacks(undefined, "aia_asst_unknown").create({ sessionId: "s" }),
    ),
    unknownAssistantList: await attempt(() => feedbacks(undefined, "aia_asst_unknown").list()),
  }),
  "message-literal": async () => {
    const messages = client().assistants.v1.assistants(env("ASSISTANT_ID")).messages;
    const first = await messages.create({ identity: "user_id:ts", body: "Hello?", sessionId: "ts-chat" });
    const second = await messages.create(
      new AssistantsV1ServiceAssistantSendMessageRequest({
        identity: "user_id:ts",
        body: "Still there?",
        session_id: "ts-chat",
        mode: "chat",
      }),
    );
    return [replyOut(first), replyOut(second)];
  },
  sessions: async () => {
    const v1 = client().assistants.v1;
    const session = await v1.sessions("ts-chat").fetch();
    const listed = await v1.sessions.list({ limit: 10 });
    const messages = await v1.sessions("ts-chat").messages.list();
    return {
      session: { id: session.id, assistantId: session.assistantId, identity: session.identity, dateCreated: date(session.dateCreated) },
      listed: listed.map((s) => s.id),
      messages: messages.map((m) => ({ role: m.role, content: m.content as Json, sessionId: m.sessionId, dateCreated: date(m.dateCreated) })),
    };
  },
  "assistant-lifecycle": async () => {
    const assistants = client().assistants.v1.assistants;
    const literal = await assistants.create({
      name: "Typed literal",
      owner: "Ada",
      personalityPrompt: "Be brief.",
      customerAi: { perceptionEngineEnabled: true, personalizationEngineEnabled: false },
      segmentCredential: { spaceId: "spa_ts" },
    });
    const classy = await assistants.create(
      new AssistantsV1ServiceCreateAssistantRequest({
        name: "Typed class",
        personality_prompt: "Be kind.",
        customer_ai: new AssistantsV1ServiceCustomerAi({
          perception_engine_enabled: false,
          personalization_engine_enabled: true,
        }),
      }),
    );
    const updated = await assistants(literal.id).update(
      new AssistantsV1ServiceUpdateAssistantRequest({ personality_prompt: "Be briefer." }),
    );
    const fetched = await assistants(classy.id).fetch();
    const listed = await assistants.list({ pageSize: 1 });
    const removed = await assistants(classy.id).remove();
    return {
      literal: assistantOut(literal),
      classy: assistantOut(classy),
      updated: assistantOut(updated),
      fetched: assistantOut(fetched),
      listed: listed.map((a) => a.id),
      removed,
    };
  },
});
