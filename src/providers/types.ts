import type { GenerationParams } from '../config/schema';

/** One chat message sent to a model. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** One model call: the rendered prompt in both shapes, so each provider takes the one it speaks. */
export interface InferenceRequest {
  /** Key of the scored sample: seeds the simulated provider and names the call in logs. */
  sampleKey: string;
  /** Chat form of the prompt (chat endpoints). */
  messages: ChatMessage[];
  /** Flattened prompt (completions endpoints, command providers). */
  prompt: string;
  /** Generation parameters. */
  params: GenerationParams;
  /** The expected answer: only the simulated provider looks at it. */
  target?: unknown;
}

/** Token usage of a call. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

/** What a model answered. */
export interface Prediction {
  text: string;
  usage: Usage;
  latencyMs: number;
  /** Model name the endpoint reported, when it did. */
  model?: string;
}

/** Per-call context: cancellation, the worker's environment (for `${NAME}`), and extra env such as CUDA_VISIBLE_DEVICES. */
export interface ProviderContext {
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
  extraEnv?: Record<string, string>;
}

/** A model behind one interface: a request in, a prediction out, the signal honoured. */
export interface Provider {
  infer(req: InferenceRequest, ctx: ProviderContext): Promise<Prediction>;
}
