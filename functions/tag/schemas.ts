/**
 * What Gemini must answer, one schema per media kind. They are sent as `responseSchema` (Vertex's OpenAPI subset),
 * which constrains decoding; the same schema, converted to JSON Schema, validates the answer again on our side,
 * because constrained decoding does not guarantee completeness (a MAX_TOKENS cut leaves truncated JSON).
 */
import { Type, type Schema } from '@google/genai';
import type { MediaKind } from '../../shared/domain/asset.ts';

/** Vision-API-style likelihoods: coarse enough for a model to answer consistently, fine enough to filter on. */
const LIKELIHOOD = ['very_unlikely', 'unlikely', 'possible', 'likely', 'very_likely'];
/** Enough labels to search and facet on; more only costs output tokens. */
export const MAX_LABELS = 15;
const MAX_TOPICS = 10;

const text = (description: string): Schema => ({ type: Type.STRING, description });
const nullableText = (description: string): Schema => ({ type: Type.STRING, nullable: true, description });

const labels: Schema = {
  type: Type.ARRAY,
  description: 'What is visible, most salient first.',
  maxItems: String(MAX_LABELS),
  items: {
    type: Type.OBJECT,
    properties: {
      name: text('A short lower-case noun phrase.'),
      confidence: { type: Type.NUMBER, minimum: 0, maximum: 1, description: 'How sure you are that it is present, 0 to 1.' },
    },
    required: ['name', 'confidence'],
    propertyOrdering: ['name', 'confidence'],
  },
};

const safety: Schema = {
  type: Type.OBJECT,
  description: 'Likelihood that the content is of each sensitive category.',
  properties: {
    adult: { type: Type.STRING, enum: LIKELIHOOD },
    violence: { type: Type.STRING, enum: LIKELIHOOD },
    racy: { type: Type.STRING, enum: LIKELIHOOD },
    medical: { type: Type.STRING, enum: LIKELIHOOD },
  },
  required: ['adult', 'violence', 'racy', 'medical'],
  propertyOrdering: ['adult', 'violence', 'racy', 'medical'],
};

const imageSchema: Schema = {
  type: Type.OBJECT,
  properties: {
    labels,
    description: text('One or two plain sentences describing the image, for alt text.'),
    hasText: { type: Type.BOOLEAN, description: 'Whether legible text (signs, captions, documents) is in the image.' },
    safety,
  },
  required: ['labels', 'description', 'hasText', 'safety'],
  propertyOrdering: ['labels', 'description', 'hasText', 'safety'],
};

const audioSchema: Schema = {
  type: Type.OBJECT,
  properties: {
    musicOrSpeech: { type: Type.STRING, enum: ['music', 'speech', 'mixed', 'other'] },
    genre: nullableText('Music genre, lower case; null when it is not music.'),
    mood: { type: Type.ARRAY, maxItems: '5', items: text('One lower-case word.') },
    tempoFeel: { type: Type.STRING, enum: ['slow', 'moderate', 'fast', 'none'] },
    language: nullableText('BCP-47 code of the spoken or sung language; null when there are no words.'),
    explicit: { type: Type.BOOLEAN, description: 'Whether the words contain profanity or explicit content.' },
    topics: { type: Type.ARRAY, maxItems: String(MAX_TOPICS), items: text('A short lower-case topic.') },
    description: text('One or two plain sentences describing what is heard.'),
  },
  required: ['musicOrSpeech', 'genre', 'mood', 'tempoFeel', 'language', 'explicit', 'topics', 'description'],
  propertyOrdering: ['musicOrSpeech', 'genre', 'mood', 'tempoFeel', 'language', 'explicit', 'topics', 'description'],
};

const videoSchema: Schema = {
  type: Type.OBJECT,
  properties: {
    sceneSummary: text('Two or three plain sentences on what happens across the frames.'),
    labels,
    safety,
    language: nullableText('BCP-47 code of any on-screen text language; null when there is none.'),
  },
  required: ['sceneSummary', 'labels', 'safety', 'language'],
  propertyOrdering: ['sceneSummary', 'labels', 'safety', 'language'],
};

export const RESPONSE_SCHEMAS: Readonly<Record<MediaKind, Schema>> = { image: imageSchema, audio: audioSchema, video: videoSchema };

/**
 * The JSON Schema equivalent, for ajv. Objects are closed: the answer is stored as is, and the schema is all a
 * reader of the asset document can rely on.
 */
export function toJsonSchema(schema: Schema): Record<string, unknown> {
  const type = schema.type?.toLowerCase();
  const out: Record<string, unknown> = { type: schema.nullable && type ? [type, 'null'] : type };
  if (schema.enum) out.enum = schema.nullable ? [...schema.enum, null] : [...schema.enum];
  if (schema.minimum !== undefined) out.minimum = schema.minimum;
  if (schema.maximum !== undefined) out.maximum = schema.maximum;
  if (schema.maxItems !== undefined) out.maxItems = Number(schema.maxItems);
  if (schema.items) out.items = toJsonSchema(schema.items);
  if (schema.properties) {
    out.properties = Object.fromEntries(Object.entries(schema.properties).map(([key, value]) => [key, toJsonSchema(value)]));
    out.required = schema.required ?? [];
    out.additionalProperties = false;
  }
  return out;
}
