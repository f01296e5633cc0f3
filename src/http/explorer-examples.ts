// The tabs the explorer opens with: ready-to-run examples of the calls an
// integrator makes first, in the order a new user runs them, the one that
// creates the example data first. test/http/explorer.test.ts runs them over HTTP
// and test/browser/explorer.test.ts in the page, in this order, on a new
// database, so they stay valid as the schema changes. Each names the roles it
// needs: a gateway that requires credentials takes them from the tab's
// Headers pane.

/** A GraphiQL tab: its operations and their variables (JSON). */
export interface ExampleTab {
  readonly query: string;
  readonly variables: string;
}

/**
 * The example data the README, the explorer's tabs and examples/kiosk share,
 * named by external references (never by ids, which differ between
 * databases). The "CreateExampleData" tab creates it (and so does the
 * README's "Try it"); `npm start` seeds nothing.
 */
export const EXAMPLE_DATA = {
  serviceName: 'Enrolments',
  serviceExtRef: 'ENR',
  queueCode: 'A',
  classificationCode: 'GENERAL',
  classificationName: 'General enquiry',
  procedureExtRef: 'ENROL',
  procedureName: 'Enrolment',
  procedureOptionExtRef: 'NEW-STUDENT',
  procedureOptionName: 'New student',
  /**
   * The case the FollowCase and CompleteCase tabs name: on a new database
   * the enqueue tab's case is case 1 (the tabs say to use the id answered).
   */
  caseId: 1,
  agent: 'desk-3',
} as const;

const json = (value: unknown): string => JSON.stringify(value, null, 2);

/** The seed's CaseEnqueue request (POST Cases), as `enqueueCase`. */
export const ENQUEUE_TAB: ExampleTab = {
  query: `# Case Enqueue for FIFO: the REST API's "POST Cases" (CaseEnqueue), in GraphQL.
#
# Credentials: a gateway that requires them wants one in the Headers pane
# below (each tab has its own): {"Authorization": "Bearer fcq_..."}; then
# re-fetch the schema (the sidebar's ↻ button). This tab needs KIOSK, AGENT
# or ADMIN. The Viewer tab shows what the gateway makes of a credential.
#
# The input has the seed's fields in camelCase (ServiceId -> serviceId,
# ServiceIdExtRef -> serviceIdExtRef, ...). Name the service by serviceId, by
# serviceIdExtRef, or both; customerId (optional) names an existing customer.
# CustomProperties, a dictionary in the seed, is a list of { key, value } pairs.
# The answer echoes the stored case with its new caseId, its ticket and its
# place in the queue, and the receipt with which a kiosk follows it.
#
# The variables name the rows the CreateExampleData tab creates (service
# "ENR", classification "GENERAL", procedure "ENROL"): run that tab first.
# Run with the play button (or Ctrl-Enter); each run enqueues another case.
mutation EnqueueCase($input: CaseEnqueueInput!) {
  enqueueCase(input: $input) {
    caseId
    receipt
    ticket
    status
    position
    estimatedWaitSeconds
    estimatedWaitRange {
      low
      high
    }
    serviceId
    serviceIdExtRef
    customerId
    extRef
    subject
    notes
    classificationCode
    autoClose
    customProperties {
      key
      value
    }
    procedureExtRef
    procedureOptionExtRef
    enqueuedAt
  }
}
`,
  variables: json({
    input: {
      serviceIdExtRef: EXAMPLE_DATA.serviceExtRef,
      extRef: '+64 21 555 0123',
      subject: 'New student enrolment',
      notes: 'Brought a passport and proof of address.',
      classificationCode: EXAMPLE_DATA.classificationCode,
      autoClose: false,
      customProperties: [
        { key: 'language', value: 'en' },
        { key: 'channel', value: 'kiosk' },
      ],
      procedureExtRef: EXAMPLE_DATA.procedureExtRef,
      procedureOptionExtRef: EXAMPLE_DATA.procedureOptionExtRef,
    },
  }),
};

/** An agent's round: call the oldest waiting case, then complete it. */
export const AGENT_ROUND_TAB: ExampleTab = {
  query: `# An agent's round at a desk: take the oldest waiting case of your services,
# serve the person, then complete the case.
#
# 1. Run CallNext (the play button offers both operations): it hands you the
#    oldest waiting case of the services named (by external reference in
#    serviceExtRefs, or by id in serviceIds), exactly once however many desks
#    call, or null when nobody waits. If FollowCase runs in another window,
#    its pane shows the case called.
# 2. Run CompleteCase: caseId in the variables is the first case of a new
#    database; put the id CallNext answered there if it differs.
#
# Needs AGENT or ADMIN. agent names the desk (open gateway, API key); with a
# person's token leave it null: the token names the agent.
mutation CallNext($serviceExtRefs: [String!], $agent: String) {
  callNext(input: { serviceExtRefs: $serviceExtRefs, agent: $agent }) {
    id
    ticket
    status
    calledAt
    lastAgent
    subject
    service {
      id
      name
      extRef
    }
  }
}

mutation CompleteCase($caseId: Int!, $agent: String) {
  completeCase(input: { caseId: $caseId, agent: $agent }) {
    id
    ticket
    status
    closedAt
    lastAgent
    history {
      action
      at
      agent
      fromStatus
      toStatus
    }
  }
}
`,
  variables: json({
    serviceExtRefs: [EXAMPLE_DATA.serviceExtRef],
    agent: EXAMPLE_DATA.agent,
    caseId: EXAMPLE_DATA.caseId,
  }),
};

/** A kiosk following the case of the ticket it printed. */
export const KIOSK_TAB: ExampleTab = {
  query: `# A kiosk following its ticket: the case's state at once, then an update
# whenever it changes and, while it waits, whenever its position or estimated
# wait moves as the cases ahead are served. It ends once the case is closed.
#
# caseId in the variables is the first case of a new database: put the
# caseId (and receipt) that EnqueueCase answered there if they differ, and
# run this. Then open this page in a second browser window (while this runs,
# the play button stops it, in every tab of this window), run the CallNext
# tab there, and watch the update arrive here. A KIOSK credential must send
# the receipt; AGENT and ADMIN (and an open gateway) may leave it null.
# Subscriptions use a WebSocket (graphql-ws protocol) at this same URL; the
# Headers pane's Authorization goes in its connection_init message.
subscription FollowCase($caseId: Int!, $receipt: String) {
  caseChanged(caseId: $caseId, receipt: $receipt) {
    caseId
    ticket
    status
    position
    estimatedWaitSeconds
    estimatedWaitRange {
      low
      high
    }
    lastAction
    lastAgent
    calledAt
    closedAt
    at
  }
}
`,
  variables: json({ caseId: EXAMPLE_DATA.caseId, receipt: null }),
};

/** Creates the example data the other tabs, the README and examples/kiosk name. */
export const EXAMPLE_DATA_TAB: ExampleTab = {
  query: `# Start here: run this tab first (the play button, or Ctrl-Enter).
# It creates the example data the other tabs name, by external reference:
# the service "${EXAMPLE_DATA.serviceExtRef}" (${EXAMPLE_DATA.serviceName}, tickets ${EXAMPLE_DATA.queueCode}001, ${EXAMPLE_DATA.queueCode}002, ...),
# the classification "${EXAMPLE_DATA.classificationCode}", and the procedure "${EXAMPLE_DATA.procedureExtRef}" with its
# option "${EXAMPLE_DATA.procedureOptionExtRef}", as written in the variables below. The
# gateway seeds nothing by itself.
#
# Run it once. A second run (or a run after the README's "Try it", which
# creates the same rows) is refused with CONFLICT (a service with the
# external reference "${EXAMPLE_DATA.serviceExtRef}" already exists) and writes nothing: the
# data are there, go on. Then run the tabs in the order shown: EnqueueCase,
# FollowCase, CallNext, Viewer. Needs ADMIN.
mutation CreateExampleData(
  $service: CreateServiceInput!
  $classification: CreateClassificationInput!
  $procedure: CreateProcedureInput!
) {
  createService(input: $service) {
    id
    name
    extRef
    queueCode
  }
  createClassification(input: $classification) {
    code
    name
  }
  createProcedure(input: $procedure) {
    extRef
    name
    options {
      extRef
      name
    }
  }
}
`,
  variables: json({
    service: { name: EXAMPLE_DATA.serviceName, extRef: EXAMPLE_DATA.serviceExtRef, queueCode: EXAMPLE_DATA.queueCode },
    classification: { code: EXAMPLE_DATA.classificationCode, name: EXAMPLE_DATA.classificationName },
    procedure: {
      extRef: EXAMPLE_DATA.procedureExtRef,
      name: EXAMPLE_DATA.procedureName,
      options: [{ extRef: EXAMPLE_DATA.procedureOptionExtRef, name: EXAMPLE_DATA.procedureOptionName }],
    },
  }),
};

/** Who the gateway takes the caller for: the way to check a credential. */
export const VIEWER_TAB: ExampleTab = {
  query: `# Who the gateway takes you for: run this to check a credential. Put it in
# this tab's Headers pane, as the other tabs take it:
#   {"Authorization": "Bearer fcq_..."}    an API key (npm run keys -- create)
#   {"Authorization": "Bearer eyJ..."}     a person's token (JWT)
# An open gateway (development) answers id "open" with every role; a missing
# or refused credential gets HTTP 401 (UNAUTHENTICATED), a role without the
# right FORBIDDEN.
query Viewer {
  viewer {
    id
    name
    roles
    serviceIds
    agent
  }
}
`,
  variables: '',
};

/**
 * In the order the explorer shows them and a new user runs them, on a new
 * database: the first (the example data) is open on a first visit.
 */
export const EXAMPLE_TABS: readonly ExampleTab[] = [
  EXAMPLE_DATA_TAB,
  ENQUEUE_TAB,
  KIOSK_TAB,
  AGENT_ROUND_TAB,
  VIEWER_TAB,
];
