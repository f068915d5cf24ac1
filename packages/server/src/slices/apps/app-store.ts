/** A mobile app: the unit that owns modules, packages, releases and a client key. */
export interface App {
  readonly id: string;
  readonly name: string;
  readonly platforms: readonly string[];
  /** Embedded in the app binary; identifies the app on the client API. */
  readonly clientKey: string;
  readonly createdAt: string;
}

/** A named set of user or device ids, e.g. the employees who get internal gray builds. */
export interface Crowd {
  readonly appId: string;
  readonly name: string;
  readonly members: readonly string[];
  readonly updatedAt: string;
}

export interface AdminToken {
  readonly id: string;
  readonly name: string;
  readonly tokenHash: string;
  readonly createdAt: string;
}

/** Persistence of apps, crowds and admin tokens. */
export interface AppStore {
  /** Inserts an app; throws AppExists when the id is taken. */
  insertApp(app: App): Promise<void>;
  getApp(id: string): Promise<App | null>;
  listApps(): Promise<App[]>;
  getAppByClientKey(clientKey: string): Promise<App | null>;
  upsertCrowd(crowd: Crowd): Promise<void>;
  getCrowd(appId: string, name: string): Promise<Crowd | null>;
  listCrowds(appId: string): Promise<Crowd[]>;
  /** Makes sure a token with this name has exactly this hash (the bootstrap token). */
  putAdminToken(token: AdminToken): Promise<void>;
  findAdminTokenByHash(tokenHash: string): Promise<AdminToken | null>;
}
