import {
  createContext,
  use,
  useCallback,
  useEffect,
  useMemo,
  useState,
  type ReactNode,
} from 'react';
import { roleAtLeast, type Role, type User } from '../../src/core/api';
import { ApiError, call, setCsrfToken, setUnauthorizedHandler } from './api';

export interface Auth {
  /** Undefined while the session is being checked; null when nobody is logged in. */
  user: User | null | undefined;
  /** Set when the server has no user yet (503 SETUP_REQUIRED): its message says what to run. */
  setupMessage: string | undefined;
  /** Set when the server cannot be reached at all. */
  unreachable: string | undefined;
  /** True after the user logged out here (the login page then forgets where they were). */
  signedOut: boolean;
  login: (email: string, password: string) => Promise<void>;
  logout: () => Promise<void>;
  can: (role: Role) => boolean;
  recheck: () => Promise<void>;
}

const AuthContext = createContext<Auth | null>(null);

interface SessionState {
  user: User | null;
  setupMessage?: string;
  unreachable?: string;
}

/** Asks the server who is logged in; never throws. */
async function fetchSession(): Promise<SessionState> {
  try {
    const me = await call('me', {});
    setCsrfToken(me.csrfToken);
    return { user: me.user };
  } catch (err) {
    setCsrfToken(undefined);
    if (err instanceof ApiError && err.code === 'SETUP_REQUIRED') {
      return { user: null, setupMessage: err.message };
    }
    if (err instanceof ApiError && (err.status === 401 || err.status === 403))
      return { user: null };
    return { user: null, unreachable: err instanceof Error ? err.message : String(err) };
  }
}

export function AuthProvider(props: { children: ReactNode }) {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [setupMessage, setSetupMessage] = useState<string>();
  const [unreachable, setUnreachable] = useState<string>();
  const [signedOut, setSignedOut] = useState(false);

  const apply = useCallback((s: SessionState) => {
    setSetupMessage(s.setupMessage);
    setUnreachable(s.unreachable);
    setUser(s.user);
  }, []);

  const recheck = useCallback(async () => apply(await fetchSession()), [apply]);

  useEffect(() => {
    let live = true;
    void fetchSession().then((s) => live && apply(s));
    setUnauthorizedHandler(() => {
      setCsrfToken(undefined);
      setUser(null);
    });
    return () => {
      live = false;
      setUnauthorizedHandler(undefined);
    };
  }, [apply]);

  const login = useCallback(async (email: string, password: string) => {
    const session = await call('login', { body: { email, password } });
    setCsrfToken(session.csrfToken);
    setUnreachable(undefined);
    setSignedOut(false);
    setUser(session.user);
  }, []);

  const logout = useCallback(async () => {
    try {
      await call('logout', {});
    } finally {
      setCsrfToken(undefined);
      setSignedOut(true);
      setUser(null);
    }
  }, []);

  const value = useMemo<Auth>(
    () => ({
      user,
      setupMessage,
      unreachable,
      signedOut,
      login,
      logout,
      recheck,
      can: (role) => !!user && roleAtLeast(user.role, role),
    }),
    [user, setupMessage, unreachable, signedOut, login, logout, recheck],
  );
  return <AuthContext value={value}>{props.children}</AuthContext>;
}

export function useAuth(): Auth {
  const auth = use(AuthContext);
  if (!auth) throw new Error('useAuth outside AuthProvider');
  return auth;
}

export const ROLE_LABELS: Record<Role, string> = {
  viewer: 'Viewer',
  admin: 'Admin',
  superadmin: 'Super admin',
};
